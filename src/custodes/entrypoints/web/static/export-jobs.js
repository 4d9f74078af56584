// Export jobs on the grant page: the Export button queues one (POST /exports/jobs); each of
// the grant's jobs that is queued, running or failed is shown with its state, a <progress>
// bar and its percentage, polled every second while one is unfinished. A job this page saw
// unfinished stays, "Exported" at 100 %, once done, and its export appears in the grant's
// export list (`onDone` reloads that); jobs done before the page was opened are that list.
// A failed job's line has a Dismiss button: the job is put out of the asker's list for good
// (POST /exports/jobs/{id}/dismiss), so failures seen do not pile up on the page.
import { api, formatTime, t } from "./app.js";

const POLL_MS = 1000;
const UNFINISHED = new Set(["queued", "running"]);
const STATE_WORDS = {
  queued: "Export queued", running: "Exporting", failed: "Export failed", done: "Exported",
};

export function exportJobs({ grantId, box, cameraName, onDone }) {
  const seen = new Map(); // job id → the state last shown
  const watched = new Set(); // the jobs this page saw unfinished
  const dismissed = new Set(); // dismissed here: a poll on its way may still list them

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
    if (job.state === "failed") p.append(" ", dismissButton(job, p));
    return p;
  }

  function dismissButton(job, p) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "job-dismiss";
    button.textContent = t("Dismiss");
    button.addEventListener("click", async () => {
      button.disabled = true;
      let said = t("Not dismissed");
      try {
        const res = await api(`/exports/jobs/${job.id}/dismiss`, { method: "POST" });
        if (res.ok) {
          dismissed.add(job.id);
          watched.delete(job.id);
          p.remove();
          return;
        }
        const body = await res.json().catch(() => ({}));
        if (typeof body.detail === "string") said = body.detail;
      } catch {
        // the network: said below
      }
      button.disabled = false;
      let note = p.querySelector(".job-dismiss-error");
      if (!note) {
        note = document.createElement("span");
        note.className = "error job-dismiss-error";
        note.setAttribute("role", "alert");
        p.append(" ", note);
      }
      note.textContent = said;
    });
    return button;
  }

  function show(all) {
    const jobs = all.filter((j) => j.dismissed_us === null && !dismissed.has(j.id));
    let finished = false;
    for (const job of jobs) {
      const before = seen.get(job.id);
      if (job.state === "done" && before !== undefined && before !== "done") finished = true;
      if (UNFINISHED.has(job.state)) watched.add(job.id);
      seen.set(job.id, job.state);
    }
    // a job submitted while this poll was on its way is not in it: kept as shown
    const listed = new Set(jobs.map((j) => j.id));
    const pending = [...watched].filter((id) => !listed.has(id));
    const kept = pending.map((id) => document.getElementById(`job-${id}`)).filter(Boolean);
    const shown = jobs.filter((j) => j.state !== "done" || watched.has(j.id)).map(line);
    box.replaceChildren(...kept, ...shown);
    if (finished) onDone();
    return pending.length > 0 || jobs.some((j) => UNFINISHED.has(j.state));
  }

  // The grant's jobs, and each watched job the list left out (it holds the newest only) read
  // on its own; one that is gone (404) is watched no more, so polling ends.
  async function fetchJobs() {
    const res = await api(`/exports/jobs?grant_id=${grantId}`);
    if (!res.ok) return null;
    const jobs = await res.json();
    const listed = new Set(jobs.map((j) => j.id));
    for (const id of [...watched].filter((id) => !listed.has(id))) {
      const one = await api(`/exports/jobs/${id}`);
      if (one.ok) jobs.push(await one.json());
      else if (one.status === 404) watched.delete(id);
      else return null;
    }
    jobs.sort((a, b) => b.created_us - a.created_us || b.id - a.id);
    return jobs;
  }

  // One loop of polls at a time: it runs while a job is unfinished, and a submission
  // starts it again when it has ended.
  let polling = false;
  async function poll() {
    let more = true; // a poll that failed (the network, a restart) is tried again
    try {
      const jobs = await fetchJobs();
      if (jobs !== null) more = show(jobs);
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
