// Recorded footage through Media Source Extensions. A plain <video src=/media…> of the
// progressive fragmented MP4 fell back to near 0 when playback outran the download (8× on a
// slow link): the browser re-requested the clip, which the server can only send from its
// start. Here the one response is read with fetch() as it streams, each piece appended to a
// SourceBuffer of the video track (codec from the X-Custodes-Codecs header, `audio=false`):
// when playback outruns it the video waits, and never goes back. Buffered footage more than
// KEEP_S behind the play head is dropped; reading waits while AHEAD_S are buffered ahead
// (the server's ffmpeg then waits too). Without MSE, or for a codec it cannot take, the
// video element plays the address itself.

const KEEP_S = 20;
const AHEAD_S = 90;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class RecordedPlayer {
  constructor(video) {
    this.video = video;
    this.abort = null;
    this.trimmed = false;
    this.readAll = false;
  }

  // Plays `url` (a /media address) from its start; any earlier one stops.
  async play(url) {
    this.stop();
    if (!window.MediaSource) { this.plain(url); return; }
    const abort = new AbortController();
    this.abort = abort;
    let res;
    try {
      res = await fetch(`${url}&audio=false`, { credentials: "same-origin", signal: abort.signal });
    } catch {
      return; // superseded, or the connection failed: nothing to show
    }
    const codecs = res.headers.get("X-Custodes-Codecs");
    const mime = `video/mp4; codecs="${codecs}"`;
    if (!res.ok || !codecs || !MediaSource.isTypeSupported(mime)) {
      abort.abort();
      if (this.abort === abort) this.plain(url); // the browser's own player, or its error
      return;
    }
    const ms = new MediaSource();
    this.ms = ms;
    this.video.src = URL.createObjectURL(ms);
    await new Promise((resolve) => ms.addEventListener("sourceopen", resolve, { once: true }));
    URL.revokeObjectURL(this.video.src);
    if (abort.signal.aborted) return;
    const sb = ms.addSourceBuffer(mime);
    sb.mode = "segments";
    // also once all is read: what was played goes as the play head moves on
    this.video.addEventListener("timeupdate", () => {
      if (ms.readyState !== "closed") this.trim(sb);
    }, { signal: abort.signal });
    this.video.play().catch(() => {});
    try {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (abort.signal.aborted) return;
        if (done) break;
        await this.append(sb, value, abort.signal);
      }
      await idle(sb);
      this.readAll = true;
      if (ms.readyState === "open") ms.endOfStream();
    } catch (err) {
      if (!abort.signal.aborted) console.warn("recorded playback stopped:", err);
    }
  }

  async append(sb, bytes, signal) {
    for (;;) {
      await idle(sb);
      if (signal.aborted) return;
      const v = this.video;
      const b = sb.buffered;
      if (this.trim(sb)) continue;
      if (b.length && b.end(b.length - 1) - v.currentTime > AHEAD_S) {
        await sleep(250); // enough ahead: wait for the play head
        continue;
      }
      try {
        sb.appendBuffer(bytes);
        return;
      } catch (err) {
        if (err.name !== "QuotaExceededError") throw err;
        await sleep(250); // full: the play head moves on and the trim above makes room
      }
    }
  }

  // The earliest time (s) still buffered when footage behind the play head has been
  // dropped (MSE), or 0 (the browser's own player fetches again what it needs).
  heldFrom() {
    if (!this.trimmed) return 0;
    const b = this.video.buffered;
    return b.length ? b.start(0) : 0;
  }

  // Drops what lies more than KEEP_S behind the play head, once 1.5 × KEEP_S is there.
  trim(sb) {
    const b = sb.buffered;
    const now = this.video.currentTime;
    if (sb.updating || !b.length || now - b.start(0) <= KEEP_S * 1.5) return false;
    // A removal reopens an ended MediaSource: end it again, or the video never ends.
    const ms = this.ms;
    if (this.readAll) {
      sb.addEventListener("updateend", () => {
        if (ms.readyState === "open" && !sb.updating) ms.endOfStream();
      }, { once: true });
    }
    sb.remove(b.start(0), now - KEEP_S);
    this.trimmed = true;
    return true;
  }

  plain(url) {
    this.video.src = url;
    this.video.play().catch(() => {});
  }

  stop() {
    this.abort?.abort();
    this.abort = null;
    this.trimmed = false;
    this.readAll = false;
  }
}

function idle(sb) {
  if (!sb.updating) return Promise.resolve();
  return new Promise((resolve) => sb.addEventListener("updateend", resolve, { once: true }));
}
