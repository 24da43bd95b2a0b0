/* Small reading aids for the course-book's pages (loaded on every page: jupyter-book includes _static/*.js).
 *
 * 1. Click a figure to see it enlarged (a lightbox; Escape, a click or the close button close it).
 * 2. A chapter's exercises get a jump list under the "Exercises" heading, and each exercise a line
 *    "Exercise 2 of 7 · previous · next · all exercises".
 * 3. The linked title of a collapsed solution ("Solution to Exercise 1.1") opens the solution instead of
 *    jumping up to the exercise.
 * Everything here is an enhancement: without JavaScript the page reads the same, minus these conveniences.
 */
(function () {
  "use strict";

  function lightbox() {
    const figures = document.querySelectorAll(
      "article.bd-article img"
    );
    if (!figures.length) return;
    const box = document.createElement("div");
    box.className = "course-lightbox";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-modal", "true");
    box.hidden = true;
    box.innerHTML = '<button type="button" class="course-lightbox-close" aria-label="Close">&times;</button>'
      + '<img alt="">';
    document.body.appendChild(box);
    const big = box.querySelector("img");
    let opener = null;
    function close() {
      box.hidden = true;
      document.body.classList.remove("course-lightbox-open");
      if (opener) opener.focus();
    }
    box.addEventListener("click", close);
    document.addEventListener("keydown", e => { if (e.key === "Escape" && !box.hidden) close(); });
    figures.forEach(img => {
      // A figure Sphinx links to its own image file (a.image-reference) opens in the lightbox instead; any
      // other link around an image is left alone. Without JavaScript the link still shows the full image.
      const link = img.closest("a[href]");
      if (link && !link.classList.contains("image-reference")) return;
      if (link) link.addEventListener("click", e => e.preventDefault());
      img.classList.add("course-enlargeable");
      img.tabIndex = 0;
      img.setAttribute("role", "button");
      img.title = "Click to enlarge";
      function open() {
        opener = img;
        big.src = link ? link.href : (img.currentSrc || img.src);
        big.alt = img.alt;
        box.hidden = false;
        document.body.classList.add("course-lightbox-open");
        box.querySelector("button").focus();
      }
      img.addEventListener("click", open);
      img.addEventListener("keydown", e => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); } });
    });
  }

  function exerciseNavigation() {
    const exercises = [...document.querySelectorAll("article div.exercise[id], article div.exercise .admonition-title")]
      .map(e => e.closest("div.exercise"))
      .filter((e, i, all) => e && e.id && all.indexOf(e) === i);
    if (exercises.length < 2) return;
    const title = e => {
      const t = e.querySelector(".admonition-title");
      return t ? t.textContent.replace(/[¶#]/g, "").trim() : e.id;
    };
    const heading = [...document.querySelectorAll("article section > h2")]
      .find(h => /exercises/i.test(h.textContent));
    const list = document.createElement("nav");
    list.className = "course-exercise-list";
    list.id = "course-exercise-list";
    list.setAttribute("aria-label", "Exercises of this chapter");
    list.innerHTML = "<p><b>Jump to an exercise:</b></p><ol></ol>";
    exercises.forEach(e => {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = "#" + e.id;
      link.textContent = title(e);
      item.appendChild(link);
      list.querySelector("ol").appendChild(item);
    });
    if (heading) heading.insertAdjacentElement("afterend", list);
    else exercises[0].insertAdjacentElement("beforebegin", list);
    exercises.forEach((e, i) => {
      const bar = document.createElement("p");
      bar.className = "course-exercise-nav";
      const parts = [`Exercise ${i + 1} of ${exercises.length}`];
      if (i > 0) parts.push(`<a href="#${exercises[i - 1].id}">&larr; previous</a>`);
      if (i < exercises.length - 1) parts.push(`<a href="#${exercises[i + 1].id}">next &rarr;</a>`);
      parts.push('<a href="#course-exercise-list">all exercises</a>');
      bar.innerHTML = parts.join(" &middot; ");
      e.appendChild(bar);
    });
  }

  function solutionTitles() {
    // sphinx-togglebutton toggles when the title itself is clicked, not a link inside it (and then throws)
    document.querySelectorAll("div.solution .admonition-title a").forEach(link => {
      link.addEventListener("click", e => {
        e.preventDefault();
        e.stopPropagation();
        const button = link.closest(".admonition-title").querySelector(".toggle-button");
        if (button) button.click();
      });
    });
  }

  function start() {
    lightbox();
    exerciseNavigation();
    solutionTitles();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
