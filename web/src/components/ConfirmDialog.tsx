// A modal confirmation on the native <dialog>: focus moves into it, Escape cancels, and focus
// returns to the button that opened it.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

export function ConfirmDialog(props: {
  title: string;
  confirmLabel: string;
  /** The confirm button's look: `danger` (the default) for removals, `primary` for an ordinary action. */
  tone?: 'danger' | 'primary';
  /** Disables the confirm button (e.g. while the form inside is being sent). */
  busy?: boolean;
  children: ComponentChildren;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    dialog?.showModal();
    return () => {
      dialog?.close();
      opener?.focus();
    };
  }, []);
  return (
    <dialog ref={ref} class="confirm" aria-labelledby="confirm-title" onCancel={(e) => (e.preventDefault(), props.onCancel())}>
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          props.onConfirm();
        }}
      >
        <h2 id="confirm-title">{props.title}</h2>
        {props.children}
        <div class="actions">
          <button type="button" class="secondary" autofocus onClick={props.onCancel}>
            Cancel
          </button>
          <button type="submit" class={props.tone === 'primary' ? undefined : 'danger'} disabled={props.busy}>
            {props.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
