// Recorded footage through Media Source Extensions. A plain <video src=/media…> of the
// progressive fragmented MP4 fell back to near 0 when playback outran the download (8× on a
// slow link): the browser re-requested the clip, which the server can only send from its
// start. Here the one response is read with fetch() as it streams, each piece appended to one
// SourceBuffer of its tracks (codecs from the X-Custodes-Codecs header: the video's, and the
// recorded audio's when there is one, e.g. "avc1.640028,mp4a.40.2"): when playback outruns
// it the video waits, and never goes back. The request names the audio codecs this browser
// takes in MSE (`audio_codecs`): the server leaves out sound in any other, in the one
// answer, so one view is one request and one entry in the ledger. Should the browser refuse
// the codecs the answer names all the same, the range is asked for again with `audio=false`
// (the video alone). Buffered footage more than KEEP_S behind the play head
// is dropped; reading waits while AHEAD_S are buffered ahead (the server's ffmpeg then waits
// too). Without MSE, or for a video codec it cannot take, the video element plays the
// address itself.
//
// The media's time 0 is not the requested start: stream copy starts at the keyframe at or
// before it, up to a GOP earlier. The server says where time 0 lies
// (X-Custodes-Media-Start-Us) and `originMs` holds it, so that the pages show the instant the
// picture shows (null until the response came, and without MSE: then the pages count from
// the start they asked for).

const KEEP_S = 20;
const AHEAD_S = 90;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// The audio codecs (RFC 6381) a camera's recording may hold in MP4, as fmp4.py names them.
const AUDIO_CODECS = ["mp4a.40.2", "mp4a.40.5", "mp4a.40.29", "mp4a.40.34", "mp4a.69", "mp4a.6B",
  "opus", "flac", "ac-3", "ec-3"];
// Those this browser's MSE takes beside H.264 (the pairing is what the buffer is made of).
const playableAudio = () => AUDIO_CODECS.filter((c) =>
  MediaSource.isTypeSupported(`audio/mp4; codecs="${c}"`)
  && MediaSource.isTypeSupported(`video/mp4; codecs="avc1.42E01E,${c}"`));
const ORIGIN = "X-Custodes-Media-Start-Us";

export class RecordedPlayer {
  constructor(video) {
    this.video = video;
    this.abort = null;
    this.trimmed = false;
    this.readAll = false;
    this.originMs = null; // the instant (ms) at the media's time 0, once the server said it
    this.hasAudio = false; // what plays has a sound track
    this.onchange = null; // called when originMs or hasAudio change
  }

  // Plays `url` (a /media address) from its start; any earlier one stops.
  async play(url) {
    this.stop();
    if (!window.MediaSource) {
      // no headers read: whether it has sound is unknown, so the sound is offered (a video
      // without a track just stays silent)
      this.hasAudio = true;
      this.onchange?.();
      this.plain(url);
      return;
    }
    const abort = new AbortController();
    this.abort = abort;
    const sound = playableAudio();
    let res = await this.fetch(sound.length ? `${url}&audio_codecs=${sound.join(",")}` : url,
      sound.length > 0, abort.signal);
    if (!res) return; // superseded, or the connection failed: nothing to show
    let codecs = res.headers.get("X-Custodes-Codecs");
    const videoCodec = codecs?.split(",")[0];
    if (res.ok && codecs !== videoCodec && !MediaSource.isTypeSupported(`video/mp4; codecs="${codecs}"`)
      && MediaSource.isTypeSupported(`video/mp4; codecs="${videoCodec}"`)) {
      res.body?.cancel().catch(() => {}); // an audio codec this browser cannot play: video alone
      res = await this.fetch(url, false, abort.signal);
      if (!res) return;
      codecs = res.headers.get("X-Custodes-Codecs");
    }
    if (res.ok) { // also for the browser's own player below: the same range, the same origin
      const origin = Number(res.headers.get(ORIGIN));
      this.originMs = res.headers.has(ORIGIN) && Number.isFinite(origin) ? origin / 1e3 : null;
      this.hasAudio = Boolean(codecs?.includes(","));
      this.onchange?.();
    }
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

  // The response for `url`, with its audio or (`audio` false) without; null when superseded
  // or the connection failed.
  async fetch(url, audio, signal) {
    try {
      const res = await fetch(audio ? url : `${url}&audio=false`, { credentials: "same-origin", signal });
      return signal.aborted ? null : res;
    } catch {
      return null;
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
    if (this.originMs !== null || this.hasAudio) {
      this.originMs = null;
      this.hasAudio = false;
      this.onchange?.();
    }
  }
}

function idle(sb) {
  if (!sb.updating) return Promise.resolve();
  return new Promise((resolve) => sb.addEventListener("updateend", resolve, { once: true }));
}
