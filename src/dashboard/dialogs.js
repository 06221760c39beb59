// The two modal dialogs: confirming an action, and asking for the admin token. Both are <dialog> elements opened
// with showModal(), which keeps focus inside and closes on Escape; focus goes back to where it was on close.

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * Asks the user to confirm an action. Resolves with the options chosen, or null when cancelled.
 * @param {{ title: string, text: string, ok: string, force?: boolean, pause?: boolean, danger?: boolean }} what
 * @returns {Promise<{ force: boolean, maxMs: number } | null>}
 */
export function confirmAction(what) {
  const dialog = /** @type {HTMLDialogElement} */ ($('confirm'));
  $('confirm-title').textContent = what.title;
  $('confirm-text').textContent = what.text;
  $('confirm-ok').textContent = what.ok;
  $('confirm-ok').classList.toggle('danger', what.danger === true);
  $('confirm-force').hidden = what.force !== true;
  $('confirm-pause').hidden = what.pause !== true;
  const forceBox = /** @type {HTMLInputElement} */ ($('confirm-force-box'));
  forceBox.checked = false;
  return modal(dialog, $('confirm-cancel'), (done) => {
    $('confirm-ok').onclick = () => {
      const max = /** @type {HTMLSelectElement} */ ($('confirm-max'));
      done({ force: forceBox.checked, maxMs: Number(max.value) });
    };
    $('confirm-cancel').onclick = () => done(null);
  });
}

/**
 * Asks for the admin token. Resolves with it, or null when cancelled.
 * @param {boolean} wasRefused the last token was refused: say so
 * @returns {Promise<string | null>}
 */
export function askToken(wasRefused) {
  const dialog = /** @type {HTMLDialogElement} */ ($('token'));
  const input = /** @type {HTMLInputElement} */ ($('token-input'));
  $('token-error').hidden = !wasRefused;
  input.value = '';
  return modal(dialog, input, (done) => {
    $('token-form').onsubmit = (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (value !== '') done(value);
    };
    $('token-cancel').onclick = () => done(null);
  });
}

/**
 * Opens `dialog` modally with focus on `first` (Cancel, for a confirmation: a stray Enter does nothing harmful),
 * lets `wire` set up its buttons, and resolves with what they pass to `done`; Escape resolves with null.
 */
function modal(dialog, first, wire) {
  const returnTo = document.activeElement;
  return new Promise((resolve) => {
    let result = null;
    const done = (value) => {
      result = value;
      dialog.close();
    };
    wire(done);
    dialog.addEventListener(
      'close',
      () => {
        if (returnTo instanceof HTMLElement && returnTo.isConnected) returnTo.focus();
        resolve(result);
      },
      { once: true },
    );
    dialog.showModal();
    first.focus();
  });
}
