// Before the meeting: the join view (a name) and the devices view (camera and microphone
// preview, the level meter, which devices, start muted). onEnter runs on "Join the meeting".
import { $ } from "../dom.js";
import { show } from "./sections.js";

const ROLES = { moderator: "a moderator", speaker: "a speaker", recordings: "a recordings viewer" };

export const devices = {
  stream: null, // what the devices view opened (null: none could be)
  ready: null, // settles once the devices are open: joining waits for it
};

export function nickname() {
  return localStorage.getItem("meetbox.nickname");
}

export function startMuted() {
  return { audio: $("#start-mic-off").checked, video: $("#start-cam-off").checked };
}

export function openJoin(preview, onEnter) {
  $("[data-role]").textContent = ROLES[preview.role] || preview.role;
  $("#nickname").value = nickname() || "";
  $("#enter").addEventListener("click", onEnter);
  show("join");
}

$("#join-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("#nickname").value.trim();
  if (!name) return;
  localStorage.setItem("meetbox.nickname", name);
  show("devices");
  await openDevices();
});

function openDevices(constraints) {
  // Joining waits for this: a click on Join while the camera is still opening must not
  // enter the meeting without publishing.
  $("#enter").disabled = true;
  devices.ready = openDevicesNow(constraints).finally(() => { $("#enter").disabled = false; });
  return devices.ready;
}

async function openDevicesNow(constraints = { audio: true, video: { width: 640, height: 360 } }) {
  devices.stream?.getTracks().forEach((track) => track.stop());
  try {
    devices.stream = await navigator.mediaDevices.getUserMedia(constraints);
  } catch {
    devices.stream = null;
    $("#device-note").textContent = "No camera or microphone could be opened; you can still join to watch and listen.";
    $("#device-note").hidden = false;
  }
  $("#preview").srcObject = devices.stream;
  await listDevices();
  meter();
}

async function listDevices() {
  const found = await navigator.mediaDevices.enumerateDevices();
  for (const [select, kind] of [[$("#camera-select"), "videoinput"], [$("#mic-select"), "audioinput"]]) {
    const current = devices.stream?.getTracks().find((t) => t.kind === (kind === "videoinput" ? "video" : "audio"));
    select.replaceChildren(...found.filter((d) => d.kind === kind).map((d, i) => {
      const option = new Option(d.label || `${kind === "videoinput" ? "Camera" : "Microphone"} ${i + 1}`, d.deviceId);
      option.selected = current?.getSettings().deviceId === d.deviceId;
      return option;
    }));
  }
}

for (const select of [$("#camera-select"), $("#mic-select")]) {
  select.addEventListener("change", () => openDevices({
    audio: { deviceId: { exact: $("#mic-select").value } },
    video: { deviceId: { exact: $("#camera-select").value }, width: 640, height: 360 },
  }));
}

let meterFrame = 0;
function meter() {
  cancelAnimationFrame(meterFrame);
  const audio = devices.stream?.getAudioTracks()[0];
  if (!audio) return;
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  context.createMediaStreamSource(new MediaStream([audio])).connect(analyser);
  const samples = new Uint8Array(analyser.fftSize);
  const draw = () => {
    if ($("#devices").hidden) { context.close(); return; }
    analyser.getByteTimeDomainData(samples);
    const peak = samples.reduce((max, v) => Math.max(max, Math.abs(v - 128)), 0);
    const level = Math.min(100, Math.round((peak / 128) * 100 * 2));
    $("#level").style.width = `${level}%`;
    $(".meter").setAttribute("aria-valuenow", String(level));
    meterFrame = requestAnimationFrame(draw);
  };
  draw();
}
