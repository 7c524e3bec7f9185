// The review viewer: niivue shows the background (T1w) with the case's mask in its drawing layer; the pen,
// eraser, fill and erase-lesion tools edit that layer; Save sends the layer back as one bit per voxel,
// gzipped, in niivue's voxel order (lesionkit.review.payload), with the version of the mask it started from.
import { Niivue, SLICE_TYPE } from "/static/niivue/niivue.js";

const root = document.getElementById("viewer");
const config = JSON.parse(root.dataset.config);
const csrf = root.dataset.csrf;
const caseUrl = `/cases/${encodeURIComponent(config.id)}`;
const apiUrl = `/api/cases/${encodeURIComponent(config.id)}`;
const $ = (id) => document.getElementById(id);

const state = {
  version: config.version,
  lesions: config.lesions,
  lesionAt: -1,
  loaded: null, // the bitmap as last loaded or saved: what "changes" are counted against
  added: 0,
  removed: 0,
  ready: false,
  error: null,
  tool: "navigate",
  lastOpacity: 0.6,
  busy: false,
};

function message(text, kind = "") {
  const box = $("message");
  box.textContent = text;
  box.className = `flash ${kind}`;
  box.hidden = !text;
}

const nv = new Niivue({
  backColor: [0, 0, 0, 1],
  crosshairColor: [0.2, 0.8, 1, 0.5], // not red: the mask is red
  crosshairWidth: 1,
  dragAndDropEnabled: false,
  isColorbar: false,
  show3Dcrosshair: false,
  logLevel: "warn",
});
window.lesionkitReview = { nv, state, config };

function countChanges() {
  const now = nv.drawBitmap;
  let added = 0;
  let removed = 0;
  if (now && state.loaded) {
    for (let i = 0; i < now.length; i++) {
      const was = state.loaded[i] !== 0;
      const is = now[i] !== 0;
      if (is && !was) added++;
      else if (was && !is) removed++;
    }
  }
  state.added = added;
  state.removed = removed;
  $("changes").textContent = added || removed
    ? `Unsaved: +${added.toLocaleString("en-US")} / −${removed.toLocaleString("en-US")} voxels since the mask was loaded.`
    : "No unsaved changes.";
  $("changes").className = added || removed ? "small unsaved" : "small";
}

function setTool(tool) {
  state.tool = tool;
  if (tool === "navigate") {
    nv.setDrawingEnabled(false);
  } else {
    nv.setDrawingEnabled(true);
    if (tool === "pen") nv.setPenValue(1, false);
    if (tool === "eraser") nv.setPenValue(0, false);
    if (tool === "fill") nv.setPenValue(1, true);
    if (tool === "erase-lesion") nv.setPenValue(-0, false);
  }
  for (const b of document.querySelectorAll("#tools button")) b.classList.toggle("active", b.dataset.tool === tool);
}

function setView(view) {
  const types = { axial: SLICE_TYPE.AXIAL, coronal: SLICE_TYPE.CORONAL, sagittal: SLICE_TYPE.SAGITTAL,
    multiplanar: SLICE_TYPE.MULTIPLANAR };
  nv.setSliceType(types[view]);
  for (const b of document.querySelectorAll("#views button")) b.classList.toggle("active", b.dataset.view === view);
}

function setBrush(size) {
  const value = Math.max(1, Math.min(15, size));
  nv.opts.penSize = value;
  $("brush").value = value;
  $("brush-value").textContent = value;
}

function setOpacity(value) {
  nv.setDrawOpacity(value);
  $("opacity").value = value;
  $("opacity-value").textContent = `${Math.round(value * 100)} %`;
  if (value > 0) state.lastOpacity = value;
}

function contrastRange() {
  const vol = nv.volumes[0];
  return [vol.global_min, vol.global_max];
}

function setContrast(lowFraction, highFraction) {
  const vol = nv.volumes[0];
  const [lo, hi] = contrastRange();
  const low = Math.min(lowFraction, highFraction - 0.001);
  vol.cal_min = lo + (hi - lo) * low;
  vol.cal_max = lo + (hi - lo) * highFraction;
  nv.updateGLVolume();
  $("contrast-min").value = Math.round(low * 1000);
  $("contrast-max").value = Math.round(highFraction * 1000);
  $("contrast-min-value").textContent = vol.cal_min.toPrecision(3);
  $("contrast-max-value").textContent = vol.cal_max.toPrecision(3);
}

function resetContrast() {
  const vol = nv.volumes[0];
  const [lo, hi] = contrastRange();
  const span = hi - lo || 1;
  setContrast(((vol.robust_min ?? lo) - lo) / span, ((vol.robust_max ?? hi) - lo) / span);
}

function goToLesion(index) {
  if (!state.lesions.length) return;
  state.lesionAt = ((index % state.lesions.length) + state.lesions.length) % state.lesions.length;
  const lesion = state.lesions[state.lesionAt];
  nv.scene.crosshairPos = nv.mm2frac(lesion.mm);
  nv.drawScene();
  nv.createOnLocationChange();
  for (const [i, row] of document.querySelectorAll("#lesions tbody tr").entries()) {
    row.classList.toggle("active", i === state.lesionAt);
  }
}

function renderLesions() {
  const body = document.querySelector("#lesions tbody");
  body.replaceChildren();
  state.lesions.forEach((lesion, i) => {
    const row = document.createElement("tr");
    const index = document.createElement("td");
    index.textContent = lesion.index;
    const volume = document.createElement("td");
    volume.className = "num";
    volume.textContent = Math.round(lesion.volume_mm3).toLocaleString("en-US");
    const go = document.createElement("td");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "small go";
    button.textContent = "show";
    button.addEventListener("click", () => goToLesion(i));
    go.append(button);
    row.append(index, volume, go);
    body.append(row);
  });
  $("lesion-count").textContent = state.lesions.length;
}

function packBitmap(bitmap) {
  const packed = new Uint8Array(Math.ceil(bitmap.length / 8));
  let count = 0;
  for (let i = 0; i < bitmap.length; i++) {
    if (bitmap[i] !== 0) {
      packed[i >> 3] |= 1 << (i & 7);
      count++;
    }
  }
  return { packed, count };
}

async function gzipBase64(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  const compressed = new Uint8Array(await new Response(stream).arrayBuffer());
  let text = "";
  for (let i = 0; i < compressed.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, compressed.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify(body),
  });
  let result = {};
  try { result = await response.json(); } catch { result = {}; }
  return { ok: response.ok, status: response.status, result };
}

function reviewer() {
  return $("reviewer").value.trim();
}

async function refreshDetail() {
  const response = await fetch(apiUrl, { credentials: "same-origin" });
  if (!response.ok) return;
  const detail = await response.json();
  state.lesions = detail.lesions;
  renderLesions();
  $("shown-mask").textContent = detail.shown_mask;
  showStatus(detail.status);
}

function showStatus(status) {
  $("status").textContent = status;
  $("status").className = `status review-${status.replace(" ", "-")}`;
}

async function save() {
  if (!state.ready || state.busy) return;
  state.busy = true;
  message("Saving…");
  try {
    countChanges();
    const { packed, count } = packBitmap(nv.drawBitmap);
    const body = {
      encoding: "bits-gzip-base64",
      dims: config.grid.dims_ras,
      perm_ras: Array.from(nv.back.permRAS),
      count,
      data: await gzipBase64(packed),
      base_version: state.version,
      reviewer: reviewer() || undefined,
    };
    const { ok, status, result } = await post(`${apiUrl}/correction`, body);
    if (!ok) {
      const why = typeof result.detail === "string" ? result.detail : JSON.stringify(result.detail ?? result);
      message(`Not saved (${status}): ${why}`, "error");
      return;
    }
    state.version = result.version;
    state.loaded = nv.drawBitmap.slice();
    state.saved = { ...result, added: state.added, removed: state.removed };
    countChanges();
    message(`Saved ${result.path} (revision ${result.revision}): ${result.lesion_voxels.toLocaleString("en-US")} `
      + `voxels, +${result.voxels_added.toLocaleString("en-US")} / −${result.voxels_removed.toLocaleString("en-US")} `
      + "against the automatic mask.", "ok");
    $("saved").textContent = `Saved correction: revision ${result.revision} by ${result.reviewer} (${result.time}), `
      + `+${result.voxels_added.toLocaleString("en-US")} / −${result.voxels_removed.toLocaleString("en-US")} voxels `
      + "against the automatic mask.";
    await refreshDetail();
  } catch (error) {
    message(`Not saved: ${error}`, "error");
  } finally {
    state.busy = false;
  }
}

async function decide(status) {
  if (!state.ready || state.busy) return;
  countChanges();
  if (state.added || state.removed) {
    message("Save (or undo) the changes first: a decision is about the saved mask.", "error");
    return;
  }
  const { ok, status: code, result } = await post(`${apiUrl}/status`,
    { status, version: state.version, reviewer: reviewer() || undefined });
  if (!ok) {
    message(`Not recorded (${code}): ${result.detail ?? ""}`, "error");
    return;
  }
  showStatus(result.status);
  message(status === "todo" ? "Decision cleared." : `${result.status} by ${result.reviewer}.`, "ok");
}

async function revert() {
  if (!state.ready) return;
  // The automatic mask goes into the drawing layer as an edit: Save writes it, Undo takes it back.
  const before = nv.drawBitmap.slice();
  const ok = await nv.loadDrawingFromUrl(`${caseUrl}/automatic.nii.gz`);
  if (!ok) {
    message("Could not load the automatic mask.", "error");
    return;
  }
  const automatic = nv.drawBitmap.slice();
  nv.drawBitmap.set(before);
  nv.drawClearAllUndoBitmaps();
  nv.drawAddUndoBitmap();
  nv.drawBitmap.set(automatic);
  nv.drawAddUndoBitmap();
  nv.refreshDrawing(true);
  countChanges();
  message("The automatic mask is back in the editor (not saved yet).");
}

function bindControls() {
  for (const b of document.querySelectorAll("#views button")) b.addEventListener("click", () => setView(b.dataset.view));
  for (const b of document.querySelectorAll("#tools button")) b.addEventListener("click", () => setTool(b.dataset.tool));
  $("brush").addEventListener("input", (e) => setBrush(Number(e.target.value)));
  $("opacity").addEventListener("input", (e) => setOpacity(Number(e.target.value)));
  const contrast = () => setContrast(Number($("contrast-min").value) / 1000, Number($("contrast-max").value) / 1000);
  $("contrast-min").addEventListener("input", contrast);
  $("contrast-max").addEventListener("input", contrast);
  $("contrast-reset").addEventListener("click", resetContrast);
  $("undo").addEventListener("click", () => nv.drawUndo());
  $("revert").addEventListener("click", revert);
  $("save").addEventListener("click", save);
  $("accept").addEventListener("click", () => decide("accepted"));
  $("reject").addEventListener("click", () => decide("rejected"));
  $("todo").addEventListener("click", () => decide("todo"));
  for (const b of document.querySelectorAll("#lesions .go")) {
    b.addEventListener("click", () => goToLesion(Number(b.dataset.lesion)));
  }
  document.addEventListener("keydown", (event) => {
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName) && event.target.type !== "range";
    if (typing && event.key !== "Escape") return;
    const ctrl = event.ctrlKey || event.metaKey;
    const key = event.key.toLowerCase();
    const actions = {
      1: () => setView("axial"), 2: () => setView("coronal"), 3: () => setView("sagittal"), 4: () => setView("multiplanar"),
      escape: () => setTool("navigate"), d: () => setTool("pen"), e: () => setTool("eraser"), f: () => setTool("fill"),
      x: () => setTool("erase-lesion"), "[": () => setBrush(nv.opts.penSize - 2), "]": () => setBrush(nv.opts.penSize + 2),
      z: () => nv.drawUndo(), n: () => goToLesion(state.lesionAt + 1), b: () => goToLesion(state.lesionAt - 1),
      s: save, a: () => decide("accepted"), r: () => decide("rejected"),
      o: () => setOpacity(nv.drawOpacity > 0 ? 0 : state.lastOpacity),
    };
    if (ctrl && !["z", "s"].includes(key)) return;
    const action = actions[key];
    if (action) {
      event.preventDefault();
      action();
    }
  });
  window.addEventListener("beforeunload", (event) => {
    if (state.added || state.removed) event.preventDefault();
  });
}

async function start() {
  await nv.attachTo("gl");
  nv.onLocationChange = (data) => { $("location").textContent = data.string; };
  await nv.loadVolumes([{ url: `${caseUrl}/background.nii.gz`, name: "background.nii.gz" }]);
  const perm = Array.from(nv.back.permRAS);
  const dims = Array.from(nv.back.dimsRAS).slice(1, 4);
  if (perm.join() !== config.grid.perm_ras.join() || dims.join() !== config.grid.dims_ras.join()) {
    // niivue oriented the grid differently from lesionkit.review.voxel_order: saving would misplace voxels.
    throw new Error(`niivue shows this grid in voxel order ${perm} (${dims}), the server expects `
      + `${config.grid.perm_ras} (${config.grid.dims_ras}); saving is disabled`);
  }
  if (!(await nv.loadDrawingFromUrl(`${caseUrl}/mask/${state.version}.nii.gz`))) {
    throw new Error("the mask could not be loaded into the drawing layer (reload the page)");
  }
  nv.onDrawingChanged = () => countChanges();
  // niivue's flood fills (erase lesion) change the bitmap without a drawingChanged event: recount on release
  nv.canvas.addEventListener("pointerup", () => setTimeout(countChanges, 0));
  state.loaded = nv.drawBitmap.slice();
  bindControls();
  setOpacity(0.6);
  setBrush(3);
  setTool("navigate");
  setView("multiplanar");
  resetContrast();
  countChanges();
  if (state.lesions.length) goToLesion(0);
  state.ready = true;
}

start().catch((error) => {
  state.error = String(error);
  message(`The viewer could not start: ${error.message ?? error}`, "error");
  for (const id of ["save", "accept", "reject", "todo"]) $(id).disabled = true;
});
