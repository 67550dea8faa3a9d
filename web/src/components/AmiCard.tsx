// One AMI (one region), as both lists show it, with its Launch button.
import type { ComponentChildren } from 'preact';
import type { WebAmiFragment } from '../generated/graphql.js';
import { label, when } from '../format.js';
import { LaunchAction } from './LaunchAction.js';

export function AmiCard({
  ami,
  children,
  showPublisher,
}: {
  ami: WebAmiFragment;
  children?: ComponentChildren;
  showPublisher?: boolean;
}) {
  const titleId = `ami-${ami.region}-${ami.amiId}`;
  return (
    <li class="ami" data-testid="ami" data-ami-id={ami.amiId} aria-labelledby={titleId}>
      <div class="ami-head">
        <h3 id={titleId}>{ami.name}</h3>
        <span class={`badge state-${ami.state.toLowerCase()}`}>{label(ami.state)}</span>
        <span class={`badge visibility-${ami.visibility.toLowerCase()}`} data-testid="visibility">
          {label(ami.visibility)}
        </span>
      </div>
      <p class="sub">
        <code>{ami.amiId}</code> · {ami.region}
        {ami.architecture && <> · {ami.architecture}</>}
        {ami.sizeGiB != null && <> · {ami.sizeGiB} GiB</>}
        {ami.templateName && <> · template {ami.templateName}</>}
        {showPublisher && <> · by {ami.publisher}</>} · {when(ami.createdAt)}
      </p>
      {ami.state === 'DEREGISTERED' && ami.deregisteredReason && (
        <p class="hint" data-testid="deregistered-reason">
          {ami.deregisteredReason}
        </p>
      )}
      {ami.description && <p class="description">{ami.description}</p>}
      <AmiSettings ami={ami} />
      {ami.tags.length > 0 && (
        <ul class="chips" aria-label="Tags">
          {ami.tags.map((t) => (
            <li key={t.key}>
              {t.key}={t.value}
            </li>
          ))}
        </ul>
      )}
      <LaunchAction ami={ami} />
      {children}
    </li>
  );
}

/** The image settings EC2 reports, as chips; only those that are on, so a plain AMI's card stays as it was. */
function AmiSettings({ ami }: { ami: WebAmiFragment }) {
  const settings = [
    ami.encrypted && { id: 'encrypted', text: `Encrypted · ${ami.kmsKeyId ?? 'AWS managed key'}` },
    ami.deprecationTime && {
      id: 'deprecation',
      // Past the time EC2 hides the image from DescribeImages for others; the card says it happened.
      text: `${Date.parse(ami.deprecationTime) <= Date.now() ? 'Deprecated' : 'Deprecates'} ${when(ami.deprecationTime)}`,
    },
    ami.deregistrationProtection && { id: 'protected', text: 'Protected' },
    ami.imdsSupport === 'v2.0' && { id: 'imds', text: 'IMDSv2 required' },
    ami.ssmParameter && { id: 'ssm', text: `SSM ${ami.ssmParameter}` },
  ].filter((s): s is { id: string; text: string } => Boolean(s));
  if (settings.length === 0) return null;
  return (
    <ul class="chips settings" aria-label="Settings" data-testid="ami-settings">
      {settings.map((s) => (
        <li key={s.id} data-setting={s.id}>
          {s.text}
        </li>
      ))}
    </ul>
  );
}
