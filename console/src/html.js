// Pages are Preact components written with htm's tagged templates (no JSX step to learn).
import { h } from "preact";
import htm from "htm";

export const html = htm.bind(h);
