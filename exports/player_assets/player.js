(() => {
  // One clock for every clip. The leader sets it: the longest clip, or in a blind review the shortest, so both
  // clips play over the same length and neither's duration can be read. The others follow the leader, nudged
  // by playback rate for small drift and re-seeked for large drift, checked on every animation frame.
  const videos = [...document.querySelectorAll('video.sync')];
  const tiles = [...document.querySelectorAll('.tile')];
  const grid = document.querySelector('.grid');
  const $ = (id) => document.getElementById(id);
  const play = $('sync-play'), seek = $('sync-seek'), time = $('sync-time');
  const speed = $('sync-speed'), loop = $('sync-loop'), sound = $('sync-sound');
  const tileSound = [...document.querySelectorAll('.tile-sound')];
  let playing = false, rate = 1.0, dragging = false, soundOn = false;
  let heard = SYNC.blind ? -1 : 0;  // which clip is heard when sound is on (-1: all of them, the blind way)
  const dur = (v) => (isFinite(v.duration) && v.duration > 0 ? v.duration : 0);
  const leader = () => videos.reduce((a, b) => {
    if (!dur(a)) return b;
    if (!dur(b)) return a;
    return (SYNC.shortest ? dur(b) < dur(a) : dur(b) > dur(a)) ? b : a;
  }, videos[0]);
  const fps = () => Number(leader().dataset.fps) || 24;
  const setOn = (button, on) => { button.classList.toggle('on', on); button.setAttribute('aria-pressed', String(on)); };

  function setAll(t) {
    for (const v of videos) {
      const d = dur(v);
      v.currentTime = d ? Math.min(t, Math.max(0, d - 0.001)) : t;
    }
    show();
  }
  function show() {
    const l = leader(), d = dur(l);
    if (time) time.textContent = `${l.currentTime.toFixed(2)} / ${d.toFixed(2)} s`;
    if (!dragging && d) seek.value = String(Math.round((Math.min(l.currentTime, d) / d) * 1000));
  }
  async function start() {
    playing = true;
    play.classList.add('on'); play.setAttribute('aria-label', 'Pause all');
    const t = leader().currentTime;
    setAll(t >= dur(leader()) - 0.01 ? 0 : t);
    await Promise.all(videos.map((v) => { v.playbackRate = rate; return v.play().catch(() => {}); }));
  }
  function stop() {
    playing = false;
    play.classList.remove('on'); play.setAttribute('aria-label', 'Play all');
    for (const v of videos) v.pause();
    setAll(leader().currentTime);
  }
  function step(frames) {
    if (playing) stop();
    setAll(Math.max(0, Math.min(dur(leader()), leader().currentTime + frames / fps())));
  }
  function restartOrStop() {
    if (loop.classList.contains('on')) { setAll(0); start(); } else { stop(); }
  }
  function tick() {
    const l = leader();
    if (playing) {
      const t = l.currentTime, span = dur(l);
      if (SYNC.shortest && span && t >= span - 0.02) restartOrStop();  // the common length is over
      for (const v of videos) {
        if (v === l) { if (v.playbackRate !== rate) v.playbackRate = rate; continue; }
        const d = dur(v);
        if (d && t >= d - 0.05) { if (!v.paused) v.pause(); continue; }   // a shorter clip holds its last frame
        if (v.paused && !l.paused) v.play().catch(() => {});
        const drift = v.currentTime - t;
        if (Math.abs(drift) > SYNC.hardSeek) { v.currentTime = t; v.playbackRate = rate; }
        else if (Math.abs(drift) > SYNC.nudgeBelow) v.playbackRate = rate * (1 - Math.max(-0.1, Math.min(0.1, drift)));
        else if (v.playbackRate !== rate) v.playbackRate = rate;
      }
      show();
    }
    requestAnimationFrame(tick);
  }
  function applySound() {
    videos.forEach((v, i) => { v.muted = !soundOn || (heard >= 0 && i !== heard); });
    setOn(sound, soundOn);
    sound.setAttribute('aria-label', soundOn ? 'Mute' : 'Sound on');
    tileSound.forEach((b) => setOn(b, soundOn && Number(b.dataset.index) === heard));
  }
  function focusTile(index) {
    const already = tiles[index] && tiles[index].classList.contains('focused');
    tiles.forEach((t, i) => {
      const on = !already && i === index;
      t.classList.toggle('focused', on);
      const b = t.querySelector('.tile-focus');
      if (b) { setOn(b, on); b.setAttribute('aria-label', on ? 'Back to the grid' : 'Enlarge this clip'); }
    });
    grid.classList.toggle('focus', !already && index >= 0);
  }

  videos.forEach((v) => {
    v.loop = false;
    v.addEventListener('loadedmetadata', show);
    v.addEventListener('ended', () => { if (v === leader() && playing) restartOrStop(); });
  });
  play.addEventListener('click', () => (playing ? stop() : start()));
  $('sync-back').addEventListener('click', () => step(-1));
  $('sync-fwd').addEventListener('click', () => step(1));
  loop.addEventListener('click', () => setOn(loop, !loop.classList.contains('on')));
  sound.addEventListener('click', () => { soundOn = !soundOn; applySound(); });
  tileSound.forEach((b) => b.addEventListener('click', () => {
    const i = Number(b.dataset.index);
    if (soundOn && heard === i) { soundOn = false; } else { soundOn = true; heard = i; }
    applySound();
  }));
  document.querySelectorAll('.tile-focus').forEach((b) => b.addEventListener('click', () => focusTile(Number(b.dataset.index))));
  // A technical flag seeks every clip to where it starts, paused there, so the defect is seen on all at once.
  document.querySelectorAll('button.flag').forEach((b) => b.addEventListener('click', () => {
    if (playing) stop();
    setAll(Number(b.dataset.start) || 0);
  }));
  seek.addEventListener('pointerdown', () => { dragging = true; });
  seek.addEventListener('pointerup', () => { dragging = false; });
  seek.addEventListener('input', () => { setAll((Number(seek.value) / 1000) * dur(leader())); });
  seek.addEventListener('change', () => { dragging = false; });
  speed.addEventListener('change', () => {
    rate = Number(speed.value) || 1;
    videos.forEach((v) => { v.playbackRate = rate; });
  });
  document.addEventListener('keydown', (e) => {
    if (e.target && e.target.tagName === 'SELECT') return;
    if (e.code === 'Space') { e.preventDefault(); playing ? stop() : start(); }
    else if (e.code === 'ArrowLeft') step(-1);
    else if (e.code === 'ArrowRight') step(1);
    else if (e.code === 'Escape') focusTile(-1);
  });
  applySound();
  window.dailiesSync = { videos, leader, start, stop, setAll, step, focusTile };
  requestAnimationFrame(tick);
})();
