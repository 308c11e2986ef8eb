// F1: the network's p(outside) over the plane for any set of hidden neurons, recomputed in the browser.
// With one hidden layer the output logit difference is affine in the mask:
//   z(x) = logit_bias + Σ_i on_i · contrib_i(x),   p(outside) = 1 / (1 + e^(−z)),
// so the stored per-point contributions are all a mask needs; no server, no network.
// Any other network (several hidden layers, tanh) is not affine in the mask: the page then carries its
// stored weights (float32) and runs the forward pass here, in float64, over the grid and the test
// points, each masked unit's activation multiplied by its checkbox, layer by layer as the store counts.
(function () {
  "use strict";
  const payload = JSON.parse(document.getElementById("f1-data").textContent);
  const N = payload.hidden, G = payload.gridSize, bias = payload.logitBias, forward = payload.mode === "forward";

  function floats(b64) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return new Float32Array(bytes.buffer);
  }
  // affine: (grid_j · G + grid_i) · N + node and point · N + node; forward: the points' x0, x1 pairs
  const gridContrib = forward ? floats(payload.gridXY) : floats(payload.gridContrib);
  const testContrib = forward ? floats(payload.testXY) : floats(payload.testContrib);
  const layers = forward ? payload.layers.map((l) => ({ out: l.out, in: l.in, w: floats(l.weight), b: floats(l.bias) })) : [];
  const masked = forward ? new Set(payload.maskLayers) : null;
  const act = payload.activation === "tanh" ? Math.tanh : (z) => (z > 0 ? z : 0);
  const width = Math.max(2, ...layers.map((l) => l.out));
  const hA = new Float64Array(width), hB = new Float64Array(width);
  const testLabels = payload.testLabels;
  const nTest = testLabels.length;

  // Viridis as Vega draws it: Vega's 31 stops, interpolated linearly in RGB like its "viridis" scheme,
  // so this map matches the other maps. Reversed, so that as in the study yellow = sure the point is
  // inside and navy = sure it is outside.
  const VIRIDIS = "440154470e61481a6c482575472f7d443a834144873d4e8a39568c35608d31688e2d708e2a788e27818e" +
    "23888e21918d1f988b1fa08822a8842ab07f35b77943bf7154c56866cc5d7ad1518fd744a5db36bcdf27d2e21be9e51afde725";
  const stops = [];
  for (let s = 0; s < VIRIDIS.length; s += 6) stops.push([0, 2, 4].map((o) => parseInt(VIRIDIS.substr(s + o, 2), 16)));
  const lut = new Uint8ClampedArray(256 * 3);
  for (let k = 0; k < 256; k++) {
    const t = (1 - k / 255) * (stops.length - 1), s = Math.min(Math.floor(t), stops.length - 2), f = t - s;
    for (let c = 0; c < 3; c++) lut[3 * k + c] = Math.round(stops[s][c] + f * (stops[s + 1][c] - stops[s][c]));
  }

  const mask = new Float32Array(N).fill(1);
  const canvas = document.getElementById("f1-canvas");
  const ctx = canvas.getContext("2d");
  const margin = { left: 44, top: 10, right: 10, bottom: 40 };
  const plot = canvas.width - margin.left - margin.right;
  const cells = document.createElement("canvas");
  cells.width = G; cells.height = G;
  const cellCtx = cells.getContext("2d");
  const image = cellCtx.createImageData(G, G);
  const pOutside = new Float32Array(G * G);
  // Cell edges: the grid points are cell centres, evenly spaced from lo to hi.
  const half = (payload.extent[1] - payload.extent[0]) / (G - 1) / 2;
  const lo = payload.extent[0] - half, hi = payload.extent[1] + half;
  const px = (v) => margin.left + ((v - lo) / (hi - lo)) * plot;
  const py = (v) => margin.top + ((hi - v) / (hi - lo)) * plot;

  // logit(1) − logit(0) of each point with the current mask, by the forward pass of the stored layers
  function forwardLogits(xy, n, out) {
    for (let k = 0; k < n; k++) {
      let h = hA, next = hB;
      h[0] = xy[2 * k]; h[1] = xy[2 * k + 1];
      let at = 0;
      for (let l = 0; l < layers.length; l++) {
        const { out: m, in: d, w, b } = layers[l];
        const last = l === layers.length - 1;
        for (let i = 0; i < m; i++) {
          let z = b[i];
          for (let j = 0; j < d; j++) z += w[i * d + j] * h[j];
          next[i] = last ? z : act(z);
        }
        if (!last && masked.has(l + 1)) {
          for (let i = 0; i < m; i++) next[i] *= mask[at + i];
          at += m;
        }
        [h, next] = [next, h];
      }
      out[k] = h[1] - h[0];
    }
    return out;
  }

  function logits(contrib, n, out) {
    if (forward) return forwardLogits(contrib, n, out);
    for (let k = 0; k < n; k++) {
      let z = bias;
      const base = k * N;
      for (let i = 0; i < N; i++) z += mask[i] * contrib[base + i];
      out[k] = z;
    }
    return out;
  }

  const gridZ = new Float64Array(G * G), testZ = new Float64Array(nTest);
  // ln(1 + e^t) without overflow: the cross-entropy of a logit difference.
  const softplus = (t) => (t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t)));

  function drawMap() {
    logits(gridContrib, G * G, gridZ);
    for (let j = 0; j < G; j++) {
      for (let i = 0; i < G; i++) {
        const k = j * G + i;
        const p = 1 / (1 + Math.exp(-gridZ[k]));
        pOutside[k] = p;
        const c = 3 * Math.round(p * 255);
        const o = 4 * ((G - 1 - j) * G + i); // row 0 of the image is the top, x1 largest
        image.data[o] = lut[c]; image.data[o + 1] = lut[c + 1]; image.data[o + 2] = lut[c + 2]; image.data[o + 3] = 255;
      }
    }
    cellCtx.putImageData(image, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(cells, margin.left, margin.top, plot, plot);
    drawBoundary();
    if (payload.square !== null) { // the training square, dotted
      const s = payload.square;
      ctx.lineWidth = 1.5;
      ctx.setLineDash([2, 3]);
      ctx.strokeStyle = "rgba(255,255,255,0.8)";
      ctx.strokeRect(px(-s), py(s), px(s) - px(-s), py(-s) - py(s));
      ctx.setLineDash([]);
    }
    drawAxes();
  }

  // The data's true boundary, dashed (the circle; xor's axes), or where it has none the test points,
  // black label 1 and white label 0, as on the other maps.
  function drawBoundary() {
    const b = payload.boundary;
    ctx.save();
    ctx.beginPath();
    ctx.rect(margin.left, margin.top, plot, plot);
    ctx.clip();
    ctx.lineWidth = 1.5;
    ctx.setLineDash([6, 3]);
    ctx.strokeStyle = "white";
    if (b !== null && b.kind === "circle") {
      ctx.beginPath();
      ctx.arc(px(0), py(0), (b.radius / (hi - lo)) * plot, 0, 2 * Math.PI);
      ctx.stroke();
    } else if (b !== null && b.kind === "axes") {
      ctx.beginPath();
      ctx.moveTo(px(lo), py(0)); ctx.lineTo(px(hi), py(0));
      ctx.moveTo(px(0), py(lo)); ctx.lineTo(px(0), py(hi));
      ctx.stroke();
    } else if (payload.points) {
      ctx.setLineDash([]);
      ctx.lineWidth = 0.6;
      for (const [x0, x1, label] of payload.points) {
        ctx.beginPath();
        ctx.arc(px(x0), py(x1), 2.2, 0, 2 * Math.PI);
        ctx.fillStyle = label === 1 ? "black" : "white";
        ctx.strokeStyle = label === 1 ? "white" : "black";
        ctx.fill();
        ctx.stroke();
      }
    }
    ctx.restore();
  }

  function drawAxes() {
    ctx.strokeStyle = "#888"; ctx.fillStyle = "#333"; ctx.lineWidth = 1;
    ctx.strokeRect(margin.left, margin.top, plot, plot);
    ctx.font = "11px sans-serif";
    for (let v = Math.ceil(lo); v <= Math.floor(hi); v++) {
      const label = String(v).replace("-", "\u2212");
      ctx.beginPath(); ctx.moveTo(px(v), margin.top + plot); ctx.lineTo(px(v), margin.top + plot + 5); ctx.stroke();
      ctx.textAlign = "center"; ctx.textBaseline = "top"; ctx.fillText(label, px(v), margin.top + plot + 7);
      ctx.beginPath(); ctx.moveTo(margin.left - 5, py(v)); ctx.lineTo(margin.left, py(v)); ctx.stroke();
      ctx.textAlign = "right"; ctx.textBaseline = "middle"; ctx.fillText(label, margin.left - 7, py(v));
    }
    ctx.font = "12px sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "bottom";
    ctx.fillText("input x0", margin.left + plot / 2, canvas.height - 2);
    ctx.save(); ctx.translate(12, margin.top + plot / 2); ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "middle"; ctx.fillText("input x1", 0, 0); ctx.restore();
  }

  function testScore() {
    logits(testContrib, nTest, testZ);
    let loss = 0, correct = 0;
    for (let k = 0; k < nTest; k++) {
      const z = testZ[k], outside = testLabels[k] === 1;
      loss += outside ? softplus(-z) : softplus(z);
      if ((z > 0) === outside) correct++;
    }
    return { loss: loss / nTest, accuracy: correct / nTest };
  }

  // What the page computed, for readers of the console and for the browser test.
  const state = window.knockoutHeatmap = {
    updates: 0, lastUpdateMs: null, loss: null, accuracy: null, mask: null,
    pOutside: () => Array.from(pOutside), // grid order: grid_j · G + grid_i
  };

  function update() {
    const start = performance.now();
    drawMap();
    const score = testScore();
    let on = 0, maskInt = 0n;
    const off = [];
    for (let i = 0; i < N; i++) {
      if (mask[i]) { on++; maskInt |= 1n << BigInt(i); } else off.push(i);
    }
    document.getElementById("f1-loss").textContent = score.loss.toFixed(4);
    document.getElementById("f1-accuracy").textContent = (100 * score.accuracy).toFixed(1) + "%";
    document.getElementById("f1-on").textContent = on + " of " + N;
    // Which neurons are off, in the page's node numbers ("none" for the full network).
    document.getElementById("f1-off").textContent = off.length === 0 ? "none" : off.length === N ? "all" : off.map((i) => (payload.labels ? payload.labels[i] : i)).join(", ");
    Object.assign(state, { updates: state.updates + 1, loss: score.loss, accuracy: score.accuracy, mask: maskInt.toString() });
    state.lastUpdateMs = performance.now() - start;
    document.getElementById("f1-ms").textContent = state.lastUpdateMs.toFixed(1);
  }

  const boxes = Array.from(document.querySelectorAll("#f1-nodes input[type=checkbox]"));
  boxes.forEach((box) => {
    box.addEventListener("change", () => {
      mask[Number(box.dataset.node)] = box.checked ? 1 : 0;
      update();
    });
  });
  function setAll(value) {
    boxes.forEach((box) => { box.checked = value === 1; mask[Number(box.dataset.node)] = value; });
    update();
  }
  document.getElementById("f1-reset").addEventListener("click", () => setAll(1));
  document.getElementById("f1-clear").addEventListener("click", () => setAll(0));

  const readout = document.getElementById("f1-readout");
  canvas.addEventListener("mousemove", (event) => {
    const rect = canvas.getBoundingClientRect();
    const x = lo + ((event.clientX - rect.left) * (canvas.width / rect.width) - margin.left) / plot * (hi - lo);
    const y = hi - ((event.clientY - rect.top) * (canvas.height / rect.height) - margin.top) / plot * (hi - lo);
    const i = Math.round((x - payload.extent[0]) / (2 * half)), j = Math.round((y - payload.extent[0]) / (2 * half));
    if (i < 0 || j < 0 || i >= G || j >= G) { readout.textContent = "\u00a0"; return; }
    readout.textContent = "x0 = " + x.toFixed(2) + ", x1 = " + y.toFixed(2) + ": p(outside) = " + pOutside[j * G + i].toFixed(3);
  });
  canvas.addEventListener("mouseleave", () => { readout.textContent = "\u00a0"; });

  // The colour bar under the controls: p(outside) from 0 (yellow, inside) to 1 (navy, outside).
  const bar = document.getElementById("f1-colourbar");
  const barCtx = bar.getContext("2d");
  for (let x = 0; x < bar.width; x++) {
    const c = 3 * Math.round((x / (bar.width - 1)) * 255);
    barCtx.fillStyle = "rgb(" + lut[c] + "," + lut[c + 1] + "," + lut[c + 2] + ")";
    barCtx.fillRect(x, 0, 1, bar.height);
  }

  update();
})();
