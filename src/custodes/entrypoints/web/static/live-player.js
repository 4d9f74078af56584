// Live video, no re-encoding. Two transports from the same server-side stream:
//  - fragmented MP4 over a WebSocket into Media Source Extensions (about 0.1 s behind), and
//  - HLS played by the browser itself, for clients without MSE (Safari on iOS) or without
//    MSE support for the camera's codec. Several seconds behind: a segment is a whole GOP, the
//    player starts at the first of the three listed, and native players let no script seek
//    in live HLS (Chromium's stalls when its playback rate is raised to catch up).
// `?transport=hls` (or `mse`) in the page's address forces one. Reconnects by itself.
import { t } from "./app.js";

const MAX_LAG_S = 1.5;      // MSE: further behind than this, jump to the live edge
// MSE: behind by more than CATCH_UP_S (a joiner's GOP, the frames ffmpeg read to learn a
// stream it had just opened), play CATCH_UP_RATE× until less than LIVE_S behind: a
// low-latency player's catch-up, which skips nothing, instead of sitting that far behind.
const CATCH_UP_S = 0.12;
const LIVE_S = 0.06;
const CATCH_UP_RATE = 1.5;
const KEEP_S = 10;          // MSE: buffered seconds kept behind the play head
const HLS_TYPE = "application/vnd.apple.mpegurl";

export function liveTransport(video) {
  const forced = new URLSearchParams(location.search).get("transport");
  if (forced === "hls" || forced === "mse") return forced;
  if (window.MediaSource) return "mse";
  return video.canPlayType(HLS_TYPE) ? "hls" : "none";
}

export class LivePlayer {
  constructor(video, cameraId, stream, onState = () => {}) {
    this.video = video;
    this.cameraId = cameraId;
    this.stream = stream;
    this.onState = onState;
    this.queue = [];
    this.closed = false;
    this.retry = 1000;
    this.transport = liveTransport(video);
    video.dataset.transport = this.transport;
    this.connect();
  }

  connect() {
    if (this.closed) return;
    if (this.transport === "mse") this.connectMse();
    else if (this.transport === "hls") this.connectHls();
    else this.onState(t("No video"));
  }

  again() {
    if (this.closed) return;
    this.onState(t("Reconnecting…"));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.retry);
    this.retry = Math.min(this.retry * 2, 15000);
  }

  // --- MSE over a WebSocket -------------------------------------------------------------

  connectMse() {
    this.onState(t("Connecting…"));
    this.ms = new MediaSource();
    this.video.src = URL.createObjectURL(this.ms);
    this.ms.addEventListener("sourceopen", () => this.open(), { once: true });
  }

  open() {
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}` +
      `/api/v1/cameras/${this.cameraId}/live?stream=${this.stream}`;
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onmessage = (msg) => {
      if (typeof msg.data === "string") {
        const { mime } = JSON.parse(msg.data);
        if (!MediaSource.isTypeSupported(mime)) {
          // e.g. H.265 where MSE cannot decode it: the browser's own HLS player may.
          ws.onclose = null;
          ws.close();
          this.transport = this.video.canPlayType(HLS_TYPE) ? "hls" : "none";
          this.video.dataset.transport = this.transport;
          this.connect();
          return;
        }
        this.sb = this.ms.addSourceBuffer(mime);
        this.sb.mode = "segments";
        this.sb.addEventListener("updateend", () => this.pump());
        return;
      }
      this.queue.push(msg.data);
      this.pump();
    };
    ws.onclose = (event) => {
      this.sb = null;
      this.queue = [];
      if (event.code === 4401) {  // the session ended: log in again, then come back here
        location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
      } else if (event.code === 4403 || event.code === 4404) {  // no (longer any) right to watch
        this.closed = true;
        this.onState(t("No video"));
      } else {
        this.again();
      }
    };
  }

  pump() {
    const sb = this.sb;
    if (!sb || sb.updating || !this.queue.length) return;
    const v = this.video;
    const ranges = sb.buffered;
    if (ranges.length) {
      const end = ranges.end(ranges.length - 1);
      const start = ranges.start(ranges.length - 1);
      // Joining a running stream, the media starts long after 0; jump to it (never before
      // the newest range, or the player waits for data that will not come).
      if (v.currentTime < start || end - v.currentTime > MAX_LAG_S) {
        v.currentTime = Math.max(start, end - 0.2);
      }
      const behind = end - v.currentTime;
      if (behind > CATCH_UP_S) v.playbackRate = CATCH_UP_RATE;
      else if (behind < LIVE_S) v.playbackRate = 1;
      if (v.currentTime - ranges.start(0) > KEEP_S * 2) {
        sb.remove(ranges.start(0), v.currentTime - KEEP_S);
        return;
      }
      if (v.paused) v.play().catch(() => {});
      this.retry = 1000;
      this.onState("");
    }
    try {
      sb.appendBuffer(this.queue.shift());
    } catch (err) {
      this.ws?.close();
    }
  }

  // --- HLS, played by the browser ---------------------------------------------------------

  connectHls() {
    this.onState(t("Connecting…"));
    const v = this.video;
    v.onerror = () => this.again();
    v.onplaying = () => {
      this.retry = 1000;
      this.onState("");
    };
    v.src = `/api/v1/cameras/${this.cameraId}/hls/${this.stream}/index.m3u8`;
    v.play().catch(() => {});
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.ws?.close();
    if (this.transport === "hls") this.video.removeAttribute("src");
  }
}
