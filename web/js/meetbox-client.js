// meetbox browser client: the signaling protocol of docs/signaling.md over one WebSocket,
// with a publisher and a subscriber RTCPeerConnection. No dependencies, no build step.
//
//   const client = new MeetboxClient(wsUrl, token, { iceServers });
//   client.addEventListener("track", (e) => ...);   // e.detail: {track, stream, info}
//   await client.connect();
//   await client.publish(mediaStream, { [trackId]: "camera" });

export class MeetboxClient extends EventTarget {
  constructor(wsUrl, token, { iceServers = [] } = {}) {
    super();
    this.wsUrl = wsUrl;
    this.token = token;
    this.config = { iceServers, bundlePolicy: "max-bundle" };
    this.publisher = new RTCPeerConnection(this.config);
    this.subscriber = new RTCPeerConnection(this.config);
    this.tracks = new Map(); // track id -> track info from the server
    this.mids = new Map(); // subscriber mid -> the track id it carries now (mids are reused)
    this.joined = null;
    this._pendingAnswer = null;
    this.subscriber.ontrack = (event) => {
      const trackId = this.mids.get(event.transceiver?.mid) ?? event.track.id;
      const info = this.tracks.get(trackId) || null;
      const mid = event.transceiver?.mid ?? null;
      this.dispatchEvent(new CustomEvent("track", { detail: { track: event.track, stream: event.streams[0], info, mid } }));
    };
    for (const [pc, target] of [[this.publisher, "publisher"], [this.subscriber, "subscriber"]]) {
      pc.onicecandidate = (event) => {
        if (event.candidate) {
          this.send({ type: "ice_candidate", target, candidate: event.candidate.candidate,
                      sdp_mid: event.candidate.sdpMid, sdp_mline_index: event.candidate.sdpMLineIndex });
        }
      };
    }
  }

  connect() {
    return new Promise((resolve, reject) => {
      this.ws = new WebSocket(this.wsUrl);
      this.ws.onopen = () => this.send({ type: "join", token: this.token });
      this.ws.onclose = (event) => {
        this.dispatchEvent(new CustomEvent("close", { detail: { code: event.code, reason: event.reason } }));
        if (!this.joined) reject(new Error(`closed ${event.code} ${event.reason}`));
      };
      this.ws.onmessage = async (event) => {
        const message = JSON.parse(event.data);
        await this._handle(message);
        if (message.type === "joined") resolve(message);
      };
    });
  }

  send(message) {
    this.ws.send(JSON.stringify(message));
  }

  // videoCodec: "VP8" or "H264" to prefer one (default: the browser's order).
  async publish(stream, sources = {}, { videoCodec = null } = {}) {
    const mids = {};
    const transceivers = stream.getTracks().map((track) =>
      [track, this.publisher.addTransceiver(track, { direction: "sendonly", streams: [stream] })]);
    if (videoCodec) {
      const wanted = RTCRtpSender.getCapabilities("video").codecs
        .filter((c) => c.mimeType.toLowerCase() === `video/${videoCodec.toLowerCase()}`);
      if (!wanted.length) throw new Error(`this browser cannot send ${videoCodec}`);
      for (const [track, transceiver] of transceivers) {
        if (track.kind === "video") transceiver.setCodecPreferences(wanted);
      }
    }
    await this.publisher.setLocalDescription(await this.publisher.createOffer());
    for (const [track, transceiver] of transceivers) {
      if (transceiver.mid !== null) mids[transceiver.mid] = sources[track.id] || (track.kind === "audio" ? "microphone" : "camera");
    }
    const answer = new Promise((resolve, reject) => { this._pendingAnswer = { resolve, reject }; });
    this.send({ type: "publish_offer", sdp: this.publisher.localDescription.sdp, sources: mids });
    await this.publisher.setRemoteDescription({ type: "answer", sdp: await answer });
  }

  async _handle(message) {
    switch (message.type) {
      case "joined":
        this.joined = message;
        for (const track of message.tracks) this.tracks.set(track.id, track);
        break;
      case "track_published":
        this.tracks.set(message.track.id, message.track);
        break;
      case "track_unpublished":
        this.tracks.delete(message.track_id);
        break;
      case "publish_answer":
        this._pendingAnswer?.resolve(message.sdp);
        this._pendingAnswer = null;
        break;
      case "subscribe_offer":
        for (const [mid, trackId] of Object.entries(message.tracks || {})) this.mids.set(mid, trackId);
        await this.subscriber.setRemoteDescription({ type: "offer", sdp: message.sdp });
        await this.subscriber.setLocalDescription(await this.subscriber.createAnswer());
        this.send({ type: "subscribe_answer", sdp: this.subscriber.localDescription.sdp });
        break;
      case "error":
        if (this._pendingAnswer && ["invalid_sdp", "forbidden", "too_many_tracks", "no_media_ports"].includes(message.code)) {
          this._pendingAnswer.reject(new Error(message.message));
          this._pendingAnswer = null;
        }
        break;
    }
    this.dispatchEvent(new CustomEvent("message", { detail: message }));
  }

  close() {
    this.ws?.close();
    this.publisher.close();
    this.subscriber.close();
  }
}
