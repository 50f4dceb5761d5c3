/**
 * Studio pages: studios, tasks and governance proposals.
 * @module
 */
import {
  type ActionRecord,
  get,
  type Page,
  type Proposal,
  query,
  type Studio,
  type Task,
} from "../api.js";
import { badge, type Child, fields, h, jsonBlock, link, table, when } from "../dom.js";
import {
  ACTION_HEAD,
  actionLink,
  actionRows,
  agentLink,
  enc,
  pagedTable,
  paths,
  section,
  studioLink,
  studioRow,
  type View,
} from "./shared.js";

// ---- studios, tasks, proposals --------------------------------------------------------------------

export async function studiosView(): Promise<View> {
  return {
    title: "Studios",
    body: section(
      "Studios",
      pagedTable<Studio>(
        ["studio", "name", "kind", "status", "spent"],
        (cursor) => get(`/v1/studios${query({ limit: 50, cursor })}`),
        studioRow,
        "No studio yet.",
        "studios",
      ),
    ),
  };
}

const taskRow = (t: Task): Child[] => [
  link(paths.task(t.studio, t.id), t.id),
  t.title,
  badge(t.state),
  agentLink(t.assignee),
  t.verdict ? badge(t.verdict) : "—",
  t.reward ?? "—",
];

export async function studioView(id: string): Promise<View> {
  const studio = await get<Studio>(`/v1/studios/${enc(id)}`);
  const members = await get<{ items: { agent: string; roles: string[]; addedAt: string }[] }>(
    `/v1/studios/${enc(id)}/members`,
  );
  const body: Child[] = [
    section(
      studio.name,
      fields([
        ["Id", h("code", null, studio.id)],
        ["Kind", studio.kind],
        ["Status", badge(studio.status)],
        ["Operator", agentLink(studio.operator)],
        ["Spent", studio.spent],
        ["Created", when(studio.createdAt)],
      ]),
      jsonBlock("Rules, reward policy and configuration", {
        rules: studio.rules,
        rewardPolicy: studio.rewardPolicy,
        config: studio.config,
      }),
    ),
    section(
      "Members",
      table(
        ["agent", "roles", "since"],
        members.items.map((m) => [agentLink(m.agent), m.roles.join(", "), when(m.addedAt)]),
      ),
    ),
  ];
  if (studio.kind === "governance") {
    const dao = await get<unknown>(`/v1/studios/${enc(id)}/dao`).catch(() => null);
    body.push(
      section(
        "Proposals",
        pagedTable<ActionRecord>(
          ["proposal", "proposed by", "signed at", "action"],
          (cursor) =>
            get(
              `/v1/actions${query({ studio: id, actionType: "governance.propose", limit: 25, cursor })}`,
            ),
          (a) => [
            link(paths.proposal(id, a.task), a.task),
            agentLink(a.agent),
            when(Number(a.timestamp)),
            actionLink(a.id),
          ],
          "No proposal yet.",
          "proposals",
        ),
        dao === null ? null : jsonBlock("The DAO's state now", dao),
      ),
    );
  }
  body.push(
    section(
      "Tasks",
      pagedTable<Task>(
        ["task", "title", "state", "assignee", "verdict", "reward"],
        (cursor) => get(`/v1/studios/${enc(id)}/tasks${query({ limit: 25, cursor })}`),
        taskRow,
        "No task yet.",
        "tasks",
      ),
    ),
    section(
      "Actions",
      pagedTable<ActionRecord>(
        ACTION_HEAD,
        (cursor) => get(`/v1/actions${query({ studio: id, limit: 25, cursor })}`),
        actionRows,
        "No action in this studio.",
        "studio-actions",
      ),
    ),
  );
  return { title: studio.name, body };
}

export async function taskView(studio: string, task: string): Promise<View> {
  const t = await get<Task>(`/v1/studios/${enc(studio)}/tasks/${enc(task)}`);
  return {
    title: `Task ${t.id}`,
    body: [
      section(
        t.title,
        fields([
          ["Task", h("code", null, t.id)],
          ["Studio", studioLink(t.studio)],
          ["State", h("span", { "data-testid": "task-state" }, badge(t.state))],
          ["Role", t.role ?? "—"],
          ["Assignee", agentLink(t.assignee)],
          ["Deadline", t.deadline === null ? "—" : when(t.deadline)],
          ["Submitted by action", actionLink(t.submitAction)],
          ["Verdict", t.verdict ? `${t.verdict} (score ${t.score ?? "—"})` : "—"],
          ["Reward", t.reward ?? "—"],
        ]),
        jsonBlock("Input", t.input),
        t.result === null || t.result === undefined ? null : jsonBlock("Result", t.result, true),
      ),
      section(
        "Transitions",
        table(
          ["#", "transition", "from → to", "by", "action", "at"],
          (t.history ?? []).map((e) => [
            e.seq,
            e.transition,
            `${e.from ?? "∅"} → ${e.to}`,
            agentLink(e.actor),
            actionLink(e.actionId),
            when(e.at),
          ]),
        ),
      ),
    ],
  };
}

export async function proposalView(studio: string, id: string): Promise<View> {
  const p = await get<Proposal>(`/v1/studios/${enc(studio)}/proposals/${enc(id)}`);
  const tasks = await get<Page<Task>>(`/v1/studios/${enc(studio)}/tasks?limit=100`).catch(() => ({
    items: [] as Task[],
    nextCursor: null,
  }));
  const mine = tasks.items.filter((t) => t.id.startsWith(`${id}/`));
  const tally = p.tally ?? {};
  return {
    title: `Proposal ${id}`,
    body: [
      section(
        `${p.proposal.title ?? id}`,
        fields([
          ["Proposal", h("code", null, p.id)],
          ["Studio", studioLink(p.studio)],
          ["Kind", String(p.proposal.kind ?? "—")],
          ["State", h("span", { "data-testid": "proposal-state" }, badge(p.state))],
          ["Voting ends", p.votingEndsAt === null ? "—" : when(p.votingEndsAt)],
          [
            "Tally",
            h(
              "span",
              { "data-testid": "tally" },
              `for ${tally.for ?? 0} · against ${tally.against ?? 0} · abstain ${tally.abstain ?? 0} · quorum ${tally.quorumMet ? "met" : "not met"} · ${tally.passed ? "passed" : "not passed"}`,
            ),
          ],
          [
            "Signed steps",
            ["propose", "tally", "execute", ...Object.keys(p.actions)]
              .filter((step, i, all) => p.actions[step] !== undefined && all.indexOf(step) === i)
              .map((step) => [step, p.actions[step] as string] as const)
              .map(([step, action]) =>
                h("span", { class: "step" }, `${step} `, actionLink(action)),
              ),
          ],
        ]),
        jsonBlock("The proposal", p.proposal, true),
        jsonBlock("DAO before / after", { before: p.daoBefore, after: p.daoAfter }),
      ),
      section(
        "Votes",
        table(
          ["voter", "choice", "reason", "action", "at"],
          p.votes.map((v) => [
            agentLink(v.agent),
            badge(v.choice),
            v.reason,
            actionLink(v.actionId),
            when(v.at),
          ]),
        ),
      ),
      section(
        "Analysis tasks",
        mine.length === 0
          ? h("p", { class: "muted" }, "No analysis task.")
          : table(["task", "title", "state", "assignee", "verdict", "reward"], mine.map(taskRow)),
      ),
      p.rewardPlan.length === 0
        ? null
        : section(
            "Reward plan",
            table(
              ["task", "agent", "amount"],
              p.rewardPlan.map((r) => [
                link(paths.task(studio, r.task), r.task),
                agentLink(r.agent),
                r.amount,
              ]),
            ),
          ),
    ],
  };
}
