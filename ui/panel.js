// Runs once when the source panel loads (Gradio's js_on_load): `element`, `trigger` and `watch` are given.
// Citation links live inside sanitized chat messages, which keep only href and class, so one listener on
// the document turns a click on <a href="#cite-T-N"> into the panel's "cite" event.
window.__qaTrigger = trigger;
if (!window.__qaCitationClicks) {
  window.__qaCitationClicks = true;
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#cite-"]');
    if (!link) return;
    event.preventDefault();
    window.__qaReveal = "passage";
    window.__qaTrigger("cite", { ref: link.getAttribute("href").slice(1) });
  });
}
element.addEventListener("click", (event) => {
  const open = event.target.closest("[data-open-doc]");
  if (open) {
    window.__qaReveal = "document";
    trigger("open_doc", { ref: open.dataset.openDoc });
    return;
  }
  const close = event.target.closest("[data-close-doc]");
  if (close) {
    window.__qaReveal = "passage";
    trigger("close_doc", { ref: close.dataset.closeDoc });
  }
});
watch("value", () => {
  const reveal = window.__qaReveal;
  window.__qaReveal = null;
  if (reveal === "document") {
    const span = element.querySelector("#qa-doc-span");
    if (span) span.scrollIntoView({ block: "center" });
  } else if (reveal === "passage") {
    const box = element.querySelector(".qa-source");
    if (!box) return;
    const top = box.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight * 0.7) box.scrollIntoView({ block: "start", behavior: "smooth" });
  }
});
