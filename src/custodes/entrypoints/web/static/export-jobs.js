// Export jobs on the grant page: the Export button queues one (POST /exports/jobs); each of
// the grant's jobs that is queued, running or failed is shown with its state, a <progress>
// bar and its percentage, polled every second while one is unfinished. A job this page saw
// unfinished stays, "Exported" at 100 %, once done, and its export appears in the grant's
// export list (`onDone` reloads that); jobs done before the page was opened are that list.
import { api, formatTime, t } from "./app.js";

const POLL_MS = 1000;
const UNFINISHED = new Set(["queued", "running"]);
const STATE_WORDS = {
  queued: "Export queued", running: "Exporting", failed: "Export failed", done: "Exported",
};

export function exportJobs({ grantId, box, cameraName, onDone }) {
  const seen = new Map(); // job id → the state last shown
  const watched = new Set(); // the jobs this page saw unfinished

  function line(job) {
    const p = document.createElement("p");
    p.className = "export-job";
    p.id = `job-${job.id}`;
    p.dataset.job = job.id;
    p.dataset.state = job.state;
    const state = document.createElement("span");
    state.className = "job-state";
    state.textContent = t(STATE_WORDS[job.state] ?? job.state);
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = job.progress;
    bar.setAttribute("aria-label", t("Export progress"));
    const percent = document.createElement("span");
    percent.className = "job-percent";
    percent.textContent = new Intl.NumberFormat(document.documentElement.lang, {
      style: "percent", maximumFractionDigits: 0,
    }).format(job.progress);
    const what = document.createElement("span");
    what.className = "meta";
    const range = `${formatTime(job.start_us / 1e3, true)} – ${formatTime(job.end_us / 1e3, true)}`;
    what.textContent = `${cameraName(job.camera_id)} · ${range}`;
    p.append(state, " ", bar, " ", percent, " ", what);
    if (job.error) {
      const why = document.createElement("span");
      why.className = "error job-error";
      why.textContent = job.error;
      p.append(" ", why);
    }
    return p;
  }

  function show(jobs) {
    let finished = false;
    for (const job of jobs) {
      const before = seen.get(job.id);
      if (job.state === "done" && before !== undefined && before !== "done") finished = true;
      if (UNFINISHED.has(job.state)) watched.add(job.id);
      seen.set(job.id, job.state);
    }
    // a job just submitted that a poll sent before it was answered cannot list: kept as shown
    const listed = new Set(jobs.map((j) => j.id));
    const pending = [...watched].filter((id) => !listed.has(id));
    const kept = pending.map((id) => document.getElementById(`job-${id}`)).filter(Boolean);
    const shown = jobs.filter((j) => j.state !== "done" || watched.has(j.id)).map(line);
    box.replaceChildren(...kept, ...shown);
    if (finished) onDone();
    return pending.length > 0 || jobs.some((j) => UNFINISHED.has(j.state));
  }

  // One loop of polls at a time: it runs while a job is unfinished, and a submission
  // starts it again when it has ended.
  let polling = false;
  async function poll() {
    let more = true; // a poll that failed (the network, a restart) is tried again
    try {
      const res = await api(`/exports/jobs?grant_id=${grantId}`);
      if (res.ok) more = show(await res.json());
    } catch {
      // tried again below
    }
    if (more) setTimeout(poll, POLL_MS);
    else polling = false;
  }
  function refresh() {
    if (polling) return;
    polling = true;
    poll();
  }

  return {
    refresh,
    // Queue an export; the job is shown at once and watched until it ends. Answers the
    // server's response, for the caller to show a refusal.
    async submit(body) {
      const res = await api("/exports/jobs", { method: "POST", body });
      if (!res.ok) return res;
      const job = await res.clone().json();
      if (!seen.has(job.id)) { // shown at once, queued, whatever the next poll finds
        seen.set(job.id, job.state);
        watched.add(job.id);
        box.prepend(line(job));
      }
      refresh();
      return res;
    },
  };
}
