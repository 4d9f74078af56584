import { LivePlayer } from "./live-player.js";

for (const video of document.querySelectorAll("video.live")) {
  const label = document.querySelector(`[data-state-for="${video.dataset.camera}"]`);
  new LivePlayer(video, video.dataset.camera, video.dataset.stream, (s) => {
    if (label) label.textContent = s;
  });
}
