// Drag-and-drop on the facilitator's wall. It only fills in and submits a topic's own
// "Move" form, so the keyboard and no-JavaScript way and the drag way are the same request.
document.addEventListener("DOMContentLoaded", () => {
  let dragged = null;
  document.querySelectorAll(".wall-card[draggable]").forEach((card) => {
    card.addEventListener("dragstart", (event) => {
      dragged = card.dataset.topic;
      event.dataTransfer.setData("text/plain", dragged);
      event.dataTransfer.effectAllowed = "move";
      card.classList.add("dragging");
    });
    card.addEventListener("dragend", () => card.classList.remove("dragging"));
  });
  document.querySelectorAll("[data-cell]").forEach((target) => {
    target.addEventListener("dragover", (event) => {
      event.preventDefault();
      target.classList.add("drop-target");
    });
    target.addEventListener("dragleave", () => target.classList.remove("drop-target"));
    target.addEventListener("drop", (event) => {
      event.preventDefault();
      target.classList.remove("drop-target");
      const topic = event.dataTransfer.getData("text/plain") || dragged;
      const form = document.querySelector(`.move-form[data-topic="${topic}"]`);
      if (!form) return;
      form.querySelector("select[name=cell]").value = target.dataset.cell;
      form.requestSubmit();
    });
  });
});
