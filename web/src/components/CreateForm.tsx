// The create-AMI form. The server validates (as EC2 would) and answers with every bad field's
// path (input.name, input.tags.0.key, input.copyToRegions.1, …); each message is shown beside its
// field, the field is marked aria-invalid and the first one gets the focus.
import { useRef, useState } from 'preact/hooks';
import type { ApiError } from '../api.js';
import { useDashboard } from '../context.js';
import {
  WebCreateAmiDocument,
  type CreateAmiInput,
  type RegionKmsKeyInput,
  type WebCreateAmiMutation,
  type WebCreationFragment,
} from '../generated/graphql.js';
import { randomKey, words } from '../format.js';
import { InstancePicker } from './InstancePicker.js';

type Field =
  | 'instance'
  | 'name'
  | 'description'
  | 'templateName'
  | 'keepLatest'
  | 'tags'
  | 'noReboot'
  | 'copyToRegions'
  | 'shareWithAccounts'
  | 'public'
  | 'encrypt'
  | 'kmsKeyId'
  | 'regionKmsKeyIds'
  | 'deprecateAt'
  | 'deregistrationProtection'
  | 'requireImdsV2'
  | 'ssmParameter';

interface TagRow {
  key: string;
  value: string;
}

/** Field id → messages; tag rows use `tags.N.key` / `tags.N.value` with N the row shown. */
type Errors = Record<string, string[]>;

const EMPTY = {
  instance: '',
  name: '',
  description: '',
  templateName: '',
  keepLatest: '',
  copyToRegions: '',
  shareWithAccounts: '',
  noReboot: false,
  public: false,
  encrypt: false,
  kmsKeyId: '',
  /** "region=key" pairs, one a line (or separated by spaces or commas) */
  regionKmsKeyIds: '',
  /** A datetime-local value: the browser's local time, without a zone */
  deprecateAt: '',
  deregistrationProtection: false,
  requireImdsV2: false,
  ssmParameter: '',
};

/** Which field an error that is not a ValidationError belongs to, by its code. */
const FIELD_OF_CODE: Record<string, Field> = {
  INSTANCE_NOT_FOUND: 'instance',
  INSTANCE_AMBIGUOUS: 'instance',
  INSTANCE_STATE_INVALID: 'instance',
  AMI_NAME_TAKEN: 'name',
  PUBLIC_ACCESS_BLOCKED: 'public',
};

type Values = typeof EMPTY;

/** What was sent, to map the server's paths (`tags.0`, `copyToRegions.1`) back to what is shown. */
interface Sent {
  sentRows: number[];
  regions: string[];
  accounts: string[];
  regionKeys: RegionKmsKeyInput[];
}

type CreateFailure = Exclude<WebCreateAmiMutation['createAmi'], { __typename: 'CreateAmiSuccess' }>;

export function CreateForm({ onCreated }: { onCreated: (creation: WebCreationFragment) => void }) {
  const { values, set, tags, setTags, errors, formError, busy, submit, formRef } = useCreateForm(onCreated);
  const errorOf = (id: string) => errors[id];

  return (
    <section class="card create" aria-labelledby="create-title">
      <h2 id="create-title">Create an AMI</h2>
      <form ref={formRef} onSubmit={(e) => void submit(e)} noValidate>
        {formError && (
          <p role="alert" class="error" id="create-error" tabIndex={-1}>
            {formError}
          </p>
        )}
        {/* Before the Instance field: the tab order stays Instance → AMI name for those who type. */}
        <InstancePicker selected={values.instance.trim()} onPick={(id) => set('instance', id)} />
        <TextField
          id="instance"
          label="Instance"
          hint="Instance id (i-…) or its Name tag"
          required
          value={values.instance}
          errors={errorOf('instance')}
          onInput={(v) => set('instance', v)}
          placeholder="demo-workstation"
        />
        <TextField
          id="name"
          label="AMI name"
          hint="3–128 letters, digits, spaces and ( ) [ ] . / - ' @ _"
          required
          value={values.name}
          errors={errorOf('name')}
          onInput={(v) => set('name', v)}
        />
        <TextField
          id="description"
          label="Description"
          multiline
          value={values.description}
          errors={errorOf('description')}
          onInput={(v) => set('description', v)}
        />
        <TextField
          id="templateName"
          label="Template"
          value={values.templateName}
          errors={errorOf('templateName')}
          onInput={(v) => set('templateName', v)}
        />
        <TextField
          id="keepLatest"
          label="Keep latest"
          hint="Once available, keep only this many of your newest AMIs of the template (1–100); older ones are deregistered"
          value={values.keepLatest}
          errors={errorOf('keepLatest')}
          onInput={(v) => set('keepLatest', v)}
          inputMode="numeric"
        />
        <TagFields tags={tags} setTags={setTags} errorOf={errorOf} />
        <DistributionFields values={values} set={set} errorOf={errorOf} />
        <EncryptionFields values={values} set={set} errorOf={errorOf} />
        <ImageSettingsFields values={values} set={set} errorOf={errorOf} />
        <button type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create AMI'}
        </button>
      </form>
    </section>
  );
}

/** Where the AMI goes once made: copies, sharing, publishing; and whether the instance reboots. */
function DistributionFields({
  values,
  set,
  errorOf,
}: {
  values: Values;
  set: <K extends keyof Values>(key: K, value: Values[K]) => void;
  errorOf: (id: string) => string[] | undefined;
}) {
  return (
    <>
      <TextField
        id="copyToRegions"
        label="Copy to regions"
        hint="Separated by spaces or commas, e.g. us-west-2 eu-west-1"
        value={values.copyToRegions}
        errors={errorOf('copyToRegions')}
        onInput={(v) => set('copyToRegions', v)}
      />
      <TextField
        id="shareWithAccounts"
        label="Share with accounts"
        hint="12-digit AWS account ids"
        value={values.shareWithAccounts}
        errors={errorOf('shareWithAccounts')}
        onInput={(v) => set('shareWithAccounts', v)}
        inputMode="numeric"
      />
      <CheckField
        id="noReboot"
        label="Don't reboot the instance"
        hint="Faster, but open files may be inconsistent"
        checked={values.noReboot}
        errors={errorOf('noReboot')}
        onChange={(v) => set('noReboot', v)}
      />
      <CheckField
        id="public"
        label="Publish to the community when available"
        checked={values.public}
        errors={errorOf('public')}
        onChange={(v) => set('public', v)}
      />
    </>
  );
}

type FieldsProps = {
  values: Values;
  set: <K extends keyof Values>(key: K, value: Values[K]) => void;
  errorOf: (id: string) => string[] | undefined;
};

/** Encrypt every image; the keys show once encryption is asked for (none: the AWS managed key). */
function EncryptionFields({ values, set, errorOf }: FieldsProps) {
  return (
    <fieldset class="encryption">
      <legend>Encryption</legend>
      <CheckField
        id="encrypt"
        label="Encrypt every image"
        hint="The source region's image included; without a key, the AWS managed key, which cannot be shared"
        checked={values.encrypt}
        errors={errorOf('encrypt')}
        onChange={(v) => set('encrypt', v)}
      />
      {values.encrypt && (
        <>
          <TextField
            id="kmsKeyId"
            label="KMS key"
            hint="Key id, key ARN or alias/… in the source region"
            value={values.kmsKeyId}
            errors={errorOf('kmsKeyId')}
            onInput={(v) => set('kmsKeyId', v)}
            placeholder="alias/builds"
          />
          <TextField
            id="regionKmsKeyIds"
            label="Keys of the copy regions"
            hint="region=key, one a line, for each copy region whose key differs"
            multiline
            value={values.regionKmsKeyIds}
            errors={errorOf('regionKmsKeyIds')}
            onInput={(v) => set('regionKmsKeyIds', v)}
            placeholder="us-west-2=alias/builds"
          />
        </>
      )}
    </fieldset>
  );
}

/** What EC2 is told about every image once it is available: deprecation, protection, IMDSv2, the SSM parameter. */
function ImageSettingsFields({ values, set, errorOf }: FieldsProps) {
  return (
    <>
      <TextField
        id="deprecateAt"
        label="Deprecate at"
        hint="Your local time; EC2 rounds it to the minute"
        type="datetime-local"
        value={values.deprecateAt}
        errors={errorOf('deprecateAt')}
        onInput={(v) => set('deprecateAt', v)}
      />
      <CheckField
        id="deregistrationProtection"
        label="Deregistration protection"
        hint="Deregistering is refused until the protection is lifted"
        checked={values.deregistrationProtection}
        errors={errorOf('deregistrationProtection')}
        onChange={(v) => set('deregistrationProtection', v)}
      />
      <CheckField
        id="requireImdsV2"
        label="Require IMDSv2"
        hint="Instances launched from the images must use IMDSv2"
        checked={values.requireImdsV2}
        errors={errorOf('requireImdsV2')}
        onChange={(v) => set('requireImdsV2', v)}
      />
      <TextField
        id="ssmParameter"
        label="SSM parameter"
        hint="Each image's id is written to it in its region, e.g. /prism/gpu-base/latest"
        value={values.ssmParameter}
        errors={errorOf('ssmParameter')}
        onInput={(v) => set('ssmParameter', v)}
      />
    </>
  );
}

/** The form's state and its submit: the createAmi mutation, then success or the errors in place. */
function useCreateForm(onCreated: (creation: WebCreationFragment) => void) {
  const { api, announce, amisChanged } = useDashboard();
  const [values, setValues] = useState(EMPTY);
  const [tags, setTags] = useState<TagRow[]>([]);
  const [errors, setErrors] = useState<Errors>({});
  const [formError, setFormError] = useState<string>();
  const [busy, setBusy] = useState(false);
  // One key per draft: a retry after a lost response returns the first creation, not a second AMI.
  const idempotencyKey = useRef(randomKey());
  const formRef = useRef<HTMLFormElement>(null);

  const set = <K extends keyof Values>(key: K, value: Values[K]) => setValues((v) => ({ ...v, [key]: value }));

  async function submit(e: Event) {
    e.preventDefault();
    const local = localErrors(values);
    if (Object.keys(local).length) {
      setErrors(local);
      focusFirstInvalid(formRef.current);
      return;
    }
    const { input, sent } = toInput(values, tags, idempotencyKey.current);
    setBusy(true);
    setFormError(undefined);
    try {
      const { createAmi: result } = await api.request(WebCreateAmiDocument, { input });
      idempotencyKey.current = randomKey();
      if (result.__typename === 'CreateAmiSuccess') {
        setErrors({});
        setValues((v) => ({ ...v, name: '', description: '' }));
        onCreated(result.creation);
        amisChanged();
        announce(`Creating AMI ${result.creation.name}`);
        return;
      }
      const { byField, unplaced } = placeErrors(result, sent);
      setErrors(byField);
      setFormError(unplaced.length ? unplaced.join(' ') : Object.keys(byField).length ? undefined : result.message);
      announce(`The AMI was not created: ${result.message}`);
      focusFirstInvalid(formRef.current);
    } catch (err) {
      setFormError((err as ApiError).message);
    } finally {
      setBusy(false);
    }
  }

  return { values, set, tags, setTags, errors, formError, busy, submit, formRef };
}

function toInput(values: Values, tags: TagRow[], idempotencyKey: string): { input: CreateAmiInput; sent: Sent } {
  // Rows left empty are not sent; remember which row each sent tag came from.
  const sentRows = tags.flatMap((t, i) => (t.key.trim() || t.value.trim() ? [i] : []));
  const regions = words(values.copyToRegions);
  const accounts = words(values.shareWithAccounts);
  const regionKeys = values.encrypt ? (parseRegionKeys(values.regionKmsKeyIds) ?? []) : [];
  const input: CreateAmiInput = {
    instance: values.instance.trim(),
    name: values.name.trim(),
    noReboot: values.noReboot,
    public: values.public,
    copyToRegions: regions,
    shareWithAccounts: accounts,
    tags: sentRows.map((i) => ({ key: tags[i]!.key.trim(), value: tags[i]!.value.trim() })),
    idempotencyKey,
    ...(values.description.trim() ? { description: values.description.trim() } : {}),
    ...(values.templateName.trim() ? { templateName: values.templateName.trim() } : {}),
    ...(values.keepLatest.trim() ? { retention: { keepLatest: Number(values.keepLatest) } } : {}),
    ...imageSettings(values, regionKeys),
  };
  return { input, sent: { sentRows, regions, accounts, regionKeys } };
}

/** Only a whole number can be sent as an Int; the server checks its range and says so. */
const isWholeNumber = (text: string) => /^\s*\d+\s*$/.test(text);

/** What cannot be sent as typed; everything else the server checks (as EC2 would) and answers by path. */
function localErrors(values: Values): Errors {
  const errors: Errors = {};
  if (values.keepLatest.trim() && !isWholeNumber(values.keepLatest)) errors.keepLatest = ['must be a whole number from 1 to 100'];
  if (values.encrypt && !parseRegionKeys(values.regionKmsKeyIds)) {
    errors.regionKmsKeyIds = ['write each as region=key, e.g. us-west-2=alias/builds'];
  }
  if (values.deprecateAt && Number.isNaN(Date.parse(values.deprecateAt))) errors.deprecateAt = ['is not a date and time'];
  return errors;
}

/** "us-west-2=alias/a eu-west-1=arn:…" → one key per region; undefined when a pair has no region or no key. */
function parseRegionKeys(text: string): RegionKmsKeyInput[] | undefined {
  const pairs = words(text).map((pair) => {
    const eq = pair.indexOf('=');
    return eq > 0 ? { region: pair.slice(0, eq), kmsKeyId: pair.slice(eq + 1) } : undefined;
  });
  return pairs.every((p) => p?.kmsKeyId) ? (pairs as RegionKmsKeyInput[]) : undefined;
}

/** Encryption, deprecation, protection, IMDSv2 and the SSM parameter: only what was asked for is sent. */
function imageSettings(values: Values, regionKeys: RegionKmsKeyInput[]): Partial<CreateAmiInput> {
  const kmsKeyId = values.kmsKeyId.trim();
  const ssmParameter = values.ssmParameter.trim();
  return {
    ...(values.encrypt ? { encryption: { ...(kmsKeyId ? { kmsKeyId } : {}), regionKmsKeyIds: regionKeys } } : {}),
    // datetime-local has no zone: Date reads it as the browser's local time, which is what the person meant.
    ...(values.deprecateAt ? { deprecateAt: new Date(values.deprecateAt).toISOString() } : {}),
    deregistrationProtection: values.deregistrationProtection,
    requireImdsV2: values.requireImdsV2,
    ...(ssmParameter ? { ssmParameter } : {}),
  };
}

/** Each message beside the field it is about; the ones no field of the form matches, apart. */
function placeErrors(result: CreateFailure, sent: Sent): { byField: Errors; unplaced: string[] } {
  const byField: Errors = {};
  const unplaced: string[] = [];
  const add = (id: string, message: string) => (byField[id] ??= []).push(message);
  if (result.__typename === 'ValidationError') {
    for (const { path, message } of result.fieldErrors) {
      const id = fieldId(path, sent);
      if (id) add(id.field, id.prefix && !message.includes(id.prefix) ? `${id.prefix}: ${message}` : message);
      else unplaced.push(`${path}: ${message}`);
    }
  } else {
    const field = FIELD_OF_CODE[result.code];
    if (field) add(field, result.message);
    else unplaced.push(result.message);
  }
  return { byField, unplaced };
}

function TagFields({
  tags,
  setTags,
  errorOf,
}: {
  tags: TagRow[];
  setTags: (update: (tags: TagRow[]) => TagRow[]) => void;
  errorOf: (id: string) => string[] | undefined;
}) {
  const edit = (i: number, change: Partial<TagRow>) => setTags((ts) => ts.map((t, j) => (j === i ? { ...t, ...change } : t)));
  return (
    <fieldset class="tags">
      <legend>Tags</legend>
      {tags.length === 0 && <p class="hint">No tags.</p>}
      {tags.map((tag, i) => (
        <div class="tag-row" key={i}>
          <TextField
            id={`tags.${i}.key`}
            label={`Tag ${i + 1} key`}
            value={tag.key}
            errors={errorOf(`tags.${i}.key`)}
            onInput={(v) => edit(i, { key: v })}
          />
          <TextField
            id={`tags.${i}.value`}
            label={`Tag ${i + 1} value`}
            value={tag.value}
            errors={errorOf(`tags.${i}.value`)}
            onInput={(v) => edit(i, { value: v })}
          />
          <button
            type="button"
            class="secondary small"
            aria-label={`Remove tag ${i + 1}`}
            onClick={() => setTags((ts) => ts.filter((_, j) => j !== i))}
          >
            Remove
          </button>
        </div>
      ))}
      <FieldErrors id="tags" errors={errorOf('tags')} />
      <button type="button" class="secondary small" onClick={() => setTags((ts) => [...ts, { key: '', value: '' }])}>
        Add tag
      </button>
    </fieldset>
  );
}

/**
 * `input.tags.2.key` → the tag row's key field; `input.copyToRegions.1` → the regions field,
 * prefixed with the value it is about. Undefined when the path names no field of the form.
 */
function fieldId(path: string, sent: Sent): { field: string; prefix?: string } | undefined {
  const parts = path.replace(/^input\./, '').split('.');
  const [head, index, sub] = parts;
  switch (head) {
    case 'instance':
    case 'name':
    case 'description':
    case 'templateName':
    case 'noReboot':
    case 'public':
    case 'deprecateAt':
    case 'deregistrationProtection':
    case 'requireImdsV2':
    case 'ssmParameter':
      return { field: head };
    case 'encryption':
      return encryptionFieldId(parts.slice(1), sent);
    case 'retention':
      // input.retention.keepLatest, and input.retention (no template) both concern the Keep latest field.
      return { field: 'keepLatest' };
    case 'tags': {
      const row = index === undefined ? undefined : sent.sentRows[Number(index)];
      if (row === undefined) return { field: 'tags' };
      return { field: sub === 'value' ? `tags.${row}.value` : `tags.${row}.key` };
    }
    case 'copyToRegions':
    case 'shareWithAccounts': {
      const list = head === 'copyToRegions' ? sent.regions : sent.accounts;
      const value = index === undefined ? undefined : list[Number(index)];
      return value === undefined ? { field: head } : { field: head, prefix: value };
    }
    default:
      return undefined;
  }
}

/** `input.encryption.kmsKeyId` → the KMS key field; `input.encryption.regionKmsKeyIds.1.…` → the per-region keys, by region. */
function encryptionFieldId([field, index]: string[], sent: Sent): { field: string; prefix?: string } {
  if (field === 'kmsKeyId') return { field: 'kmsKeyId' };
  if (field !== 'regionKmsKeyIds') return { field: 'encrypt' };
  const region = index === undefined ? undefined : sent.regionKeys[Number(index)]?.region;
  return region ? { field: 'regionKmsKeyIds', prefix: region } : { field: 'regionKmsKeyIds' };
}

function focusFirstInvalid(form: HTMLFormElement | null): void {
  // After the re-render that marks the fields.
  requestAnimationFrame(() => form?.querySelector<HTMLElement>('[aria-invalid="true"], #create-error')?.focus());
}

function FieldErrors({ id, errors }: { id: string; errors: string[] | undefined }) {
  if (!errors?.length) return null;
  return (
    <p class="field-error" id={`${id}-error`}>
      {errors.join(' ')}
    </p>
  );
}

function describedBy(id: string, hint: string | undefined, errors: string[] | undefined): string | undefined {
  const ids = [errors?.length ? `${id}-error` : '', hint ? `${id}-hint` : ''].filter(Boolean);
  return ids.length ? ids.join(' ') : undefined;
}

function TextField(props: {
  id: string;
  label: string;
  value: string;
  errors: string[] | undefined;
  onInput: (value: string) => void;
  hint?: string;
  required?: boolean;
  multiline?: boolean;
  placeholder?: string;
  inputMode?: 'numeric';
  type?: 'text' | 'datetime-local';
}) {
  const { id, errors } = props;
  const common = {
    id,
    name: id,
    value: props.value,
    required: props.required,
    placeholder: props.placeholder,
    'aria-invalid': errors?.length ? ('true' as const) : undefined,
    'aria-describedby': describedBy(id, props.hint, errors),
  };
  return (
    <div class={`field${errors?.length ? ' invalid' : ''}`}>
      <label for={id}>
        {props.label}
        {props.required && <span aria-hidden="true"> *</span>}
      </label>
      {props.multiline ? (
        <textarea {...common} rows={2} onInput={(e) => props.onInput(e.currentTarget.value)} />
      ) : props.type === 'datetime-local' ? (
        <input {...common} type="datetime-local" onInput={(e) => props.onInput(e.currentTarget.value)} />
      ) : (
        <input
          {...common}
          type="text"
          autocomplete="off"
          inputMode={props.inputMode}
          onInput={(e) => props.onInput(e.currentTarget.value)}
        />
      )}
      <FieldErrors id={id} errors={errors} />
      {props.hint && (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
    </div>
  );
}

function CheckField(props: {
  id: string;
  label: string;
  checked: boolean;
  errors: string[] | undefined;
  onChange: (checked: boolean) => void;
  hint?: string;
}) {
  const { id, errors } = props;
  return (
    <div class={`field check${errors?.length ? ' invalid' : ''}`}>
      <input
        id={id}
        name={id}
        type="checkbox"
        checked={props.checked}
        aria-invalid={errors?.length ? 'true' : undefined}
        aria-describedby={describedBy(id, props.hint, errors)}
        onChange={(e) => props.onChange(e.currentTarget.checked)}
      />
      <label for={id}>{props.label}</label>
      <FieldErrors id={id} errors={errors} />
      {props.hint && (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
    </div>
  );
}
