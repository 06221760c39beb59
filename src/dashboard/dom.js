// A few DOM helpers. The page builds each app's card once and then only changes what changed, so that focus,
// open dialogs and screen readers are not disturbed by the updates that arrive every second or two.

/**
 * `el('li', { class: 'x', 'data-app': 'web' }, 'text', child)`. Attributes with null/false values are left out.
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** Sets the text only when it differs, so an aria-live region speaks only real changes. */
export function setText(node, text) {
  const value = text ?? '';
  if (node.textContent !== value) node.textContent = value;
}

/** Sets or removes an attribute only when it differs. */
export function setAttr(node, name, value) {
  if (value === null || value === undefined || value === false) {
    if (node.hasAttribute(name)) node.removeAttribute(name);
    return;
  }
  const text = value === true ? '' : String(value);
  if (node.getAttribute(name) !== text) node.setAttribute(name, text);
}

/** Replaces the children of `node` when the new ones render differently (compared by their HTML). */
export function replaceChildren(node, children) {
  const next = document.createElement(node.tagName);
  next.append(...children);
  if (next.innerHTML !== node.innerHTML) node.replaceChildren(...next.childNodes);
}
