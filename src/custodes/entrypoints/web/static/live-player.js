// Live video: fragmented MP4 over a WebSocket into Media Source Extensions, no re-encoding.
// Keeps the buffer short (about a second behind live), and reconnects by itself.
import { t } from "./app.js";

const MAX_LAG_S = 1.5;    // further behind than this: jump to the live edge
const KEEP_S = 10;        // buffered seconds kept behind the play head

export class LivePlayer {
  constructor(video, cameraId, stream, onState = () => {}) {
    this.video = video;
    this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}` +
      `/api/v1/cameras/${cameraId}/live?stream=${stream}`;
    this.onState = onState;
    this.queue = [];
    this.closed = false;
    this.retry = 1000;
    this.connect();
  }

  connect() {
    if (this.closed) return;
    this.onState(t("Connecting…"));
    this.ms = new MediaSource();
    this.video.src = URL.createObjectURL(this.ms);
    this.ms.addEventListener("sourceopen", () => this.open(), { once: true });
  }

  open() {
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onmessage = (msg) => {
      if (typeof msg.data === "string") {
        const { mime } = JSON.parse(msg.data);
        if (!MediaSource.isTypeSupported(mime)) { this.onState(t("No video")); ws.close(); return; }
        this.sb = this.ms.addSourceBuffer(mime);
        this.sb.mode = "segments";
        this.sb.addEventListener("updateend", () => this.pump());
        return;
      }
      this.queue.push(msg.data);
      this.pump();
    };
    ws.onclose = () => {
      if (this.closed) return;
      this.onState(t("Reconnecting…"));
      this.sb = null;
      this.queue = [];
      setTimeout(() => this.connect(), this.retry);
      this.retry = Math.min(this.retry * 2, 15000);
    };
  }

  pump() {
    const sb = this.sb;
    if (!sb || sb.updating || !this.queue.length) return;
    const v = this.video;
    const ranges = sb.buffered;
    if (ranges.length) {
      const end = ranges.end(ranges.length - 1);
      if (end - v.currentTime > MAX_LAG_S) v.currentTime = end - 0.2;
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

  close() {
    this.closed = true;
    this.ws?.close();
  }
}
