// Database proxies (pool size, connections busy/idle, waiters) and file systems (access points).
import { html } from "../html.js";
import { api } from "../api.js";
import { ErrorBox, Loading, useLoad, when } from "../ui.js";

async function load() {
  const [{ dbProxies }, { fileSystems }] = await Promise.all([api("/v1/db-proxies"), api("/v1/file-systems")]);
  const statuses = await Promise.all(dbProxies.map((p) => api(`/v1/db-proxies/${encodeURIComponent(p.name)}/status`).catch(() => null)));
  const points = await Promise.all(fileSystems.map((f) => api(`/v1/file-systems/${encodeURIComponent(f.name)}/access-points`)
    .then((a) => a.accessPoints, () => [])));
  return { dbProxies, statuses, fileSystems, points };
}

export function ResourcesPage() {
  const { data, error } = useLoad(load, []);
  if (error) return html`<h1>DB proxies & file systems</h1><${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} />`;
  return html`<h1>DB proxies & file systems</h1><h2>Database proxies</h2>
    ${data.dbProxies.length === 0 ? html`<p>No database proxies.</p>` : html`<div class="table-wrap"><table>
      <thead><tr><th>Name</th><th>Target</th><th class="num">Pool size</th><th class="num">Open</th><th class="num">Busy</th>
        <th class="num">Idle</th><th class="num">Waiters</th><th>Pools</th><th>Updated</th></tr></thead>
      <tbody>${data.dbProxies.map((p, k) => {
        const s = data.statuses[k];
        const t = s?.totals;
        return html`<tr data-proxy=${p.name}><td>${p.name}</td><td><code>${p.target}</code></td><td class="num">${p.poolSize}</td>
          ${t ? html`<td class="num">${t.open}</td><td class="num">${t.busy}</td><td class="num">${t.idle}</td><td class="num">${t.waiters}</td>
            <td>${s.processes.length === 0 ? "none running yet (a pool opens with the first function that uses it)"
              : s.processes.map((r) => html`<div title=${`reported ${when(r.reportedAt)}`}><code>${r.process}</code>:
                ${r.open} open of ${r.size}, ${r.borrows} borrows${r.borrowTimeouts ? html`, <strong>${r.borrowTimeouts} timed out</strong>` : ""}</div>`)}</td>`
            : html`<td colspan="5">live status not available</td>`}
          <td>${when(p.updatedAt)}</td></tr>`;
      })}</tbody></table></div>`}
    <h2>File systems</h2>
    ${data.fileSystems.length === 0 ? html`<p>No file systems.</p>` : data.fileSystems.map((f, k) => html`<section class="card">
      <h3>${f.name}</h3><p>Created ${when(f.createdAt)}</p>
      ${data.points[k].length === 0 ? html`<p>No access points.</p>` : html`<table><thead><tr><th>Access point</th><th>Root directory</th>
        <th>POSIX user</th><th>Permissions</th></tr></thead><tbody>${data.points[k].map((a) => html`<tr><td>${a.name}</td>
        <td><code>${a.rootDirectory}</code></td><td>${a.posixUser ? `${a.posixUser.uid}:${a.posixUser.gid}` : "—"}</td>
        <td>${a.permissions ?? "—"}</td></tr>`)}</tbody></table>`}
    </section>`)}`;
}
