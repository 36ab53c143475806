// Drag-and-drop on the facilitator's wall. A drop fills in the wall's one move form with the
// topic and the place and submits it: the same request as a topic's "Move…" page, the way
// without a mouse or JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("drop-move");
  if (!form) return;
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
      if (!/^\d+$/.test(topic || "")) return;
      form.action = form.dataset.action.replace("{topic}", topic);
      form.elements.cell.value = target.dataset.cell;
      form.requestSubmit();
    });
  });
});
