// A step that cannot be undone is taken only once its consequence was read and confirmed: the
// page's #confirm-dialog says what the step does (its own, translated words, one element per
// step with data-step, data-title and data-button); Cancel, Escape or closing it takes no step.
export function confirmed(step) {
  const dialog = document.getElementById("confirm-dialog");
  const said = dialog.querySelector(`[data-step="${step}"]`);
  document.getElementById("confirm-title").textContent = said.dataset.title;
  document.getElementById("confirm-consequence").textContent = said.textContent;
  document.getElementById("confirm-ok").textContent = said.dataset.button;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
    dialog.showModal();
  });
}
