// A cost estimate in AWS's public price model, labelled as one, with the prices used.
import { html } from "../html.js";
import { api } from "../api.js";
import { useLoad } from "../ui.js";

/** Dollars with three significant digits below a cent ($0.000000208), cents above. */
function money(amount, currency) {
  const value = Number(amount) || 0;
  const digits = value === 0 || value >= 0.01 ? 2 : Math.min(12, 2 - Math.floor(Math.log10(value)));
  const text = value.toFixed(digits);
  return currency === "USD" ? `$${text}` : `${text} ${currency}`;
}

export function CostEstimate({ path, refresh }) {
  const { data, error } = useLoad(() => api(path), [path, refresh]);
  if (error) return html`<p class="note">No estimate: ${error.status === 404 ? "this Stepline does not estimate costs yet" : error.message}.</p>`;
  if (!data) return null;
  return html`<div class="cost">
    <p><strong>Estimate: ${money(data.total, data.currency)}</strong> — what this would cost on AWS at its public prices; Stepline itself charges nothing.</p>
    <table><thead><tr><th>Item</th><th class="num">Quantity</th><th class="num">Unit price</th><th class="num">Amount</th></tr></thead>
      <tbody>${data.items.map((item) => html`<tr><td>${item.description ?? item.name}</td>
        <td class="num">${item.quantity} ${item.unit}</td><td class="num">${money(item.unitPrice, data.currency)}</td>
        <td class="num">${money(item.amount, data.currency)}</td></tr>`)}</tbody></table>
    <p class="note">Prices: ${data.prices?.source ?? "AWS public prices"}${data.prices?.asOf ? ` (as of ${data.prices.asOf})` : ""}.${" "}
      ${(data.notes ?? []).map((n) => (/[.!?]$/.test(n) ? n : `${n}.`)).join(" ")}</p>
  </div>`;
}
