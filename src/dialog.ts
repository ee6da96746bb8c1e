import { Dialog, showDialog } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { analyze, check, IConvertRequest } from './request';

/** Python's keywords: a package name must not be one (the server says the same). */
const KEYWORDS = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except finally for ' +
    'from global if import in is lambda nonlocal not or pass raise return try while with yield'
  ).split(' ')
);
const CHECK_DELAY = 200;
const REPLACE = 'Replace';

/**
 * The default package name for a notebook: its stem made a valid Python identifier,
 * as the command line does (`My Notebook-v2` -> `my_notebook_v2`).
 */
export function packageName(notebookPath: string): string {
  const stem = PathExt.basename(notebookPath, PathExt.extname(notebookPath));
  let name =
    stem
      .replace(/[^\p{L}\p{N}_]+/gu, '_')
      .replace(/^_+|_+$/g, '')
      .toLowerCase() || 'package';
  if (/^\p{N}/u.test(name)) {
    name = `nb_${name}`;
  }
  return KEYWORDS.has(name) ? `${name}_` : name;
}

/** The request the dialog starts from for a notebook: the defaults of the command line. */
export function defaultRequest(notebookPath: string): IConvertRequest {
  const name = packageName(notebookPath);
  return {
    path: notebookPath,
    name,
    output: PathExt.join(PathExt.dirname(notebookPath), name),
    force: false,
    input_var: null,
    output_var: null,
    execute: false
  };
}

/** Why `name` cannot name a package, said before asking the server; null when it may. */
function nameProblem(name: string): string | null {
  if (!name) {
    return 'Give the package a name.';
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || KEYWORDS.has(name)) {
    return `${name} is not a valid Python package name: letters, digits and _, not starting with a digit.`;
  }
  return null;
}

/**
 * The dialog's form: package name and output folder (relative to the server's root), checked as the user types,
 * and an optional section with the input and output variables and whether to run the notebook.
 * The output folder follows the name until the user edits it.
 */
class ConvertForm extends Widget implements Dialog.IBodyWidget<IConvertRequest> {
  constructor(
    private readonly start: IConvertRequest,
    message: string | null
  ) {
    super();
    this.addClass('jp-nbextract-form');
    if (message) {
      this.node.appendChild(element('p', 'jp-nbextract-error', message));
    }
    this.nameInput = this.addField('Package name', 'name', start.name);
    this.nameProblem = this.addProblem();
    this.outputInput = this.addField('Output folder', 'output', start.output);
    this.outputProblem = this.addProblem();
    this.outputEdited = start.output !== this.outputFor(start.name);
    const section = this.addSection();
    this.inputVar = this.addField('Input variable (the raw data)', 'input_var', start.input_var ?? '', section);
    this.outputVar = this.addField('Output variable (the prediction)', 'output_var', start.output_var ?? '', section);
    this.executeInput = this.addCheckbox('Run the notebook to record examples, specs and a benchmark', section);
    this.executeInput.checked = start.execute;
    this.nameInput.addEventListener('input', () => this.nameChanged());
    this.outputInput.addEventListener('input', () => {
      this.outputEdited = true;
      this.scheduleCheck();
    });
  }

  getValue(): IConvertRequest {
    return {
      path: this.start.path,
      name: this.nameInput.value.trim(),
      output: this.outputInput.value.trim(),
      force: false,
      input_var: this.inputVar.value.trim() || null,
      output_var: this.outputVar.value.trim() || null,
      execute: this.executeInput.checked
    };
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.showProblems(null, null, false);
    void this.checkNow();
  }

  private nameChanged(): void {
    if (!this.outputEdited) {
      this.outputInput.value = this.outputFor(this.nameInput.value.trim());
    }
    this.scheduleCheck();
  }

  private scheduleCheck(): void {
    window.clearTimeout(this.timer);
    const local = nameProblem(this.nameInput.value.trim());
    this.showProblems(local, null, false);
    if (!local) {
      this.timer = window.setTimeout(() => void this.checkNow(), CHECK_DELAY);
    }
  }

  /** Ask the server about the name and folder; an answer to an older question is dropped. */
  private async checkNow(): Promise<void> {
    const asked = ++this.asked;
    const value = this.getValue();
    const local = nameProblem(value.name);
    if (local) {
      return this.showProblems(local, null, false);
    }
    try {
      const answer = await check(value);
      if (asked === this.asked) {
        this.showProblems(answer.name, answer.output, answer.exists);
      }
    } catch (error) {
      if (asked === this.asked) {
        this.showProblems(null, error instanceof Error ? error.message : String(error), false);
      }
    }
  }

  /** Show the problems under their fields; Convert only without one, Replace where only the folder exists. */
  private showProblems(name: string | null, output: string | null, exists: boolean): void {
    this.nameProblem.textContent = name ?? '';
    this.outputProblem.textContent = output ?? '';
    const dialog = this.node.closest('.jp-Dialog');
    const convert = dialog?.querySelector<HTMLButtonElement>('.jp-nbextract-convert');
    const replace = dialog?.querySelector<HTMLButtonElement>('.jp-nbextract-replace');
    if (convert) {
      convert.disabled = Boolean(name || output);
    }
    if (replace) {
      replace.hidden = !exists || Boolean(name);
    }
  }

  private outputFor(name: string): string {
    return PathExt.join(PathExt.dirname(this.start.path), name);
  }

  private addSection(): HTMLElement {
    const section = element('details', 'jp-nbextract-options') as HTMLDetailsElement;
    section.appendChild(element('summary', '', 'Input, output and run (optional)'));
    section.open = Boolean(this.start.input_var || this.start.output_var || this.start.execute);
    section.addEventListener('toggle', () => void this.offerVariables(), { once: true });
    this.node.appendChild(section);
    if (section.open) {
      void this.offerVariables();
    }
    return section;
  }

  /** Offer the variables the source binds (from the server's analysis) in both variable fields. */
  private async offerVariables(): Promise<void> {
    const list = element('datalist', '') as HTMLDataListElement;
    list.id = `jp-nbextract-variables-${++ConvertForm.lists}`;
    this.node.appendChild(list);
    this.inputVar.setAttribute('list', list.id);
    this.outputVar.setAttribute('list', list.id);
    try {
      for (const variable of await analyze(this.start.path)) {
        const option = element('option', '', variable.origin) as HTMLOptionElement;
        option.value = variable.name;
        list.appendChild(option);
      }
    } catch {
      // Without candidates the fields still take any name; the conversion says what is wrong with it.
    }
  }

  private addField(label: string, field: string, value: string, parent: HTMLElement = this.node): HTMLInputElement {
    const input = document.createElement('input');
    input.className = 'jp-mod-styled';
    input.name = field;
    input.value = value;
    input.spellcheck = false;
    parent.appendChild(labelled(label, input));
    return input;
  }

  private addProblem(): HTMLElement {
    return this.node.appendChild(element('div', 'jp-nbextract-problem', ''));
  }

  private addCheckbox(label: string, parent: HTMLElement): HTMLInputElement {
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.name = 'execute';
    const row = labelled(label, input);
    row.classList.add('jp-nbextract-checkbox');
    parent.appendChild(row);
    return input;
  }

  private static lists = 0;
  private readonly nameInput: HTMLInputElement;
  private readonly nameProblem: HTMLElement;
  private readonly outputInput: HTMLInputElement;
  private readonly outputProblem: HTMLElement;
  private readonly inputVar: HTMLInputElement;
  private readonly outputVar: HTMLInputElement;
  private readonly executeInput: HTMLInputElement;
  private outputEdited: boolean;
  private timer = 0;
  private asked = 0;
}

function element(tag: string, className: string, text = ''): HTMLElement {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}

function labelled(text: string, input: HTMLInputElement): HTMLLabelElement {
  const label = document.createElement('label');
  label.append(element('span', '', text), input);
  return label;
}

/**
 * Ask how to convert: from `start` (the defaults, or what the user typed before), with the server's `message`
 * about it when it was refused; null when the user cancels. Replace converts with force.
 */
export async function askConversion(
  start: IConvertRequest,
  message: string | null = null
): Promise<IConvertRequest | null> {
  const result = await showDialog({
    title: `Convert ${PathExt.basename(start.path)} to a package`,
    body: new ConvertForm(start, message),
    focusNodeSelector: 'input[name="name"]',
    buttons: [
      Dialog.cancelButton(),
      Dialog.warnButton({ label: REPLACE, className: 'jp-nbextract-replace', ariaLabel: 'Replace the output folder' }),
      Dialog.okButton({ label: 'Convert', className: 'jp-nbextract-convert', ariaLabel: 'Convert to package' })
    ]
  });
  if (!result.button.accept || !result.value) {
    return null;
  }
  return { ...result.value, force: result.button.label === REPLACE };
}
