// Runs once when the source panel loads (Gradio's js_on_load): `element`, `trigger` and `watch` are given.
// Citation links live inside sanitized chat messages, which keep only href and class, so one listener on
// the document turns a click on <a href="#cite-T-N"> into the panel's "cite" event.
const reveal = (kind) => {
  if (kind === "document") {
    const span = element.querySelector("#qa-doc-span");
    if (span) span.scrollIntoView({ block: "center" });
    return;
  }
  const box = element.querySelector(".qa-source");
  if (!box) return;
  const top = box.getBoundingClientRect().top;
  if (top < 0 || top > window.innerHeight * 0.6) box.scrollIntoView({ block: "start", behavior: "smooth" });
};
const showing = (ref) => {
  const box = element.querySelector(".qa-source");
  return box && box.dataset.ref === ref && !element.querySelector("#qa-doc-span");
};
window.__qaCite = (ref) => {
  if (showing(ref)) {
    reveal("passage"); // already on screen: Gradio would not re-render, so nothing else would scroll
    return;
  }
  window.__qaReveal = "passage";
  trigger("cite", { ref });
};
if (!window.__qaCitationClicks) {
  window.__qaCitationClicks = true;
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#cite-"]');
    if (!link) return;
    event.preventDefault();
    window.__qaCite(link.getAttribute("href").slice(1));
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
  const kind = window.__qaReveal;
  window.__qaReveal = null;
  if (kind) reveal(kind);
});
