/**
 * The explorer: a small single-page app over the gateway's public API,
 * served at /explorer by the gateway itself. Paths:
 *
 * /explorer                                   overview
 * /explorer/agents, /explorer/agents/{id}     agents (card, status, reputation chart, actions)
 * /explorer/actions, /explorer/actions/{id}   actions and their receipts, verified here
 * /explorer/checkpoints                       checkpoints and their anchoring transactions
 * /explorer/studios, /explorer/studios/{id}   studios, members, tasks, proposals
 * /explorer/studios/{id}/tasks/{task}         a task (slashes URL-encoded) and its transitions
 * /explorer/studios/{id}/proposals/{p}        a proposal, its votes, tally and tasks
 * /explorer/search?q=                         search
 * /explorer/verify                            verify a pasted receipt
 * @module
 */
import { verifyReceipt } from "@chaoscore/core";
import { h, link } from "./dom.js";
import { verify, verifyCheckpointNote } from "./verifier.js";
import {
  actionsView,
  actionView,
  agentsView,
  agentView,
  checkpointsView,
  gatewayInfo,
  homeView,
  problem,
  proposalView,
  searchView,
  studiosView,
  studioView,
  taskView,
  type View,
  verifyView,
} from "./views.js";

const BASE = "/explorer";
const ADDRESS = "0x[0-9a-f]{40}";
const HASH = "0x[0-9a-f]{64}";
const SEGMENT = "([^/]+)";

type Route = [RegExp, (m: string[], params: URLSearchParams) => Promise<View>];

const routes: Route[] = [
  [/^\/?$/, () => homeView()],
  [/^\/agents\/?$/, () => agentsView()],
  [new RegExp(`^/agents/(${ADDRESS})$`), (m, p) => agentView(m[1] as string, p)],
  [/^\/actions\/?$/, () => actionsView()],
  [new RegExp(`^/actions/(${HASH})$`), (m) => actionView(m[1] as string)],
  [/^\/checkpoints\/?$/, () => checkpointsView()],
  [/^\/studios\/?$/, () => studiosView()],
  [new RegExp(`^/studios/${SEGMENT}/?$`), (m) => studioView(m[1] as string)],
  [
    new RegExp(`^/studios/${SEGMENT}/tasks/${SEGMENT}$`),
    (m) => taskView(m[1] as string, m[2] as string),
  ],
  [
    new RegExp(`^/studios/${SEGMENT}/proposals/${SEGMENT}$`),
    (m) => proposalView(m[1] as string, m[2] as string),
  ],
  [/^\/search\/?$/, (_m, p) => searchView(p)],
  [/^\/verify\/?$/, () => verifyView()],
];

const main = document.getElementById("main") as HTMLElement;
let generation = 0;

async function render(): Promise<void> {
  const current = ++generation;
  const url = new URL(location.href);
  const rest = url.pathname.startsWith(BASE) ? url.pathname.slice(BASE.length) : url.pathname;
  main.setAttribute("aria-busy", "true");
  main.dataset.state = "loading";
  let view: View;
  try {
    const route = routes.find(([re]) => re.test(rest));
    if (route === undefined) {
      view = {
        title: "Not found",
        body: h(
          "section",
          { class: "panel" },
          h("h2", null, "Not found"),
          h("p", null, "No explorer page here. ", link(BASE, "Back to the overview")),
        ),
      };
    } else {
      const m = (route[0].exec(rest) ?? []).map((part, i) =>
        i === 0 ? part : decodeURIComponent(part),
      );
      view = await route[1](m, url.searchParams);
    }
  } catch (error) {
    view = { title: "Error", body: h("section", { class: "panel" }, problem(error)) };
  }
  if (current !== generation) return; // a newer navigation won
  document.title = `${view.title} · ChaosCore Explorer`;
  const content = h("div", null, view.body);
  main.replaceChildren(...content.childNodes);
  main.dataset.state = "ready";
  main.dataset.path = url.pathname;
  main.removeAttribute("aria-busy");
  for (const a of document.querySelectorAll<HTMLAnchorElement>("header nav a")) {
    const path = new URL(a.href).pathname;
    a.classList.toggle(
      "current",
      path === BASE ? rest === "" || rest === "/" : url.pathname.startsWith(path),
    );
  }
}

function navigate(href: string, replace = false): void {
  if (replace) history.replaceState(null, "", href);
  else history.pushState(null, "", href);
  window.scrollTo(0, 0);
  void render();
}

document.addEventListener("click", (event) => {
  const a = (event.target as Element | null)?.closest?.("a");
  if (
    a === null ||
    a === undefined ||
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey ||
    event.altKey ||
    a.target === "_blank" ||
    a.hasAttribute("download")
  ) {
    return;
  }
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(BASE)) return;
  event.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});

window.addEventListener("popstate", () => void render());

const form = document.getElementById("search") as HTMLFormElement;
form.addEventListener("submit", (event) => {
  event.preventDefault();
  const q = (new FormData(form).get("q") ?? "").toString().trim();
  if (q === "") return;
  navigate(`${BASE}/search?q=${encodeURIComponent(q)}`);
});

// For scripts and tests: the very verifier the pages use.
Object.assign(window, {
  chaoscoreExplorer: {
    verifyReceipt,
    verify,
    verifyCheckpointNote,
    async trustAnchors() {
      const gw = await gatewayInfo();
      return { verifierKey: gw.log.verifierKey, trustedTeeRoots: gw.trustedTeeRoots };
    },
  },
});

void render();
