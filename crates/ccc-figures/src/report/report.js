// ccc report: the scores scatter, the experiments table and the sheet viewer, drawn from the embedded JSON.
// No dependencies, no network: everything works from file://.
(function () {
  'use strict';

  var data = JSON.parse(document.getElementById('ccc-data').textContent);
  var exps = data.experiments;
  var byId = new Map();
  exps.forEach(function (e) { byId.set(e.id, e); });

  // Okabe–Ito colours (colour-blind safe) plus a marker shape per source, so colour is never the only cue.
  var PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#000000', '#999999'];
  var MARKERS = ['circle', 'square', 'triangle', 'diamond', 'down', 'cross', 'star', 'hex'];
  var SVGNS = 'http://www.w3.org/2000/svg';
  var sourceIndex = new Map();
  data.sources.forEach(function (s, i) { sourceIndex.set(s, i); });
  function colourOf(src) { return PALETTE[(sourceIndex.get(src) || 0) % PALETTE.length]; }
  function markerOf(src) {
    var i = sourceIndex.get(src) || 0;
    return MARKERS[(i + Math.floor(i / PALETTE.length)) % MARKERS.length];
  }
  function markerPath(kind, x, y, r) {
    var d, a, i, pts;
    switch (kind) {
      case 'square': r *= 0.9; return 'M' + (x - r) + ' ' + (y - r) + 'h' + 2 * r + 'v' + 2 * r + 'h' + -2 * r + 'Z';
      case 'triangle': r *= 1.2; return 'M' + x + ' ' + (y - r) + 'L' + (x + r * 0.9) + ' ' + (y + r * 0.7) + 'L' + (x - r * 0.9) + ' ' + (y + r * 0.7) + 'Z';
      case 'down': r *= 1.2; return 'M' + x + ' ' + (y + r) + 'L' + (x + r * 0.9) + ' ' + (y - r * 0.7) + 'L' + (x - r * 0.9) + ' ' + (y - r * 0.7) + 'Z';
      case 'diamond': r *= 1.25; return 'M' + x + ' ' + (y - r) + 'L' + (x + r) + ' ' + y + 'L' + x + ' ' + (y + r) + 'L' + (x - r) + ' ' + y + 'Z';
      case 'cross': a = r * 0.38; r *= 1.1;
        return 'M' + (x - a) + ' ' + (y - r) + 'h' + 2 * a + 'v' + (r - a) + 'h' + (r - a) + 'v' + 2 * a + 'h' + (a - r) +
          'v' + (r - a) + 'h' + -2 * a + 'v' + (a - r) + 'h' + (a - r) + 'v' + -2 * a + 'h' + (r - a) + 'Z';
      case 'star': case 'hex':
        pts = kind === 'star' ? 10 : 6; d = '';
        for (i = 0; i < pts; i++) {
          a = Math.PI * 2 * i / pts - Math.PI / 2;
          var rr = kind === 'star' ? (i % 2 ? r * 0.55 : r * 1.3) : r * 1.1;
          d += (i ? 'L' : 'M') + (x + rr * Math.cos(a)).toFixed(2) + ' ' + (y + rr * Math.sin(a)).toFixed(2);
        }
        return d + 'Z';
      default: return 'M' + (x - r) + ' ' + y + 'a' + r + ' ' + r + ' 0 1 0 ' + 2 * r + ' 0a' + r + ' ' + r + ' 0 1 0 ' + -2 * r + ' 0Z';
    }
  }
  function el(tag, attrs, text) {
    var n = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text != null) n.textContent = text;
    return n;
  }
  function svgEl(tag, attrs) {
    var n = document.createElementNS(SVGNS, tag);
    Object.keys(attrs).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    return n;
  }
  function fmt(v, digits) { return v == null ? '—' : v.toFixed(digits); }
  function sumOf(e) { return e.irr == null || e.frac == null ? null : e.irr + e.frac; }

  // ---------------------------------------------------------------- the sheet viewer
  var viewer = document.getElementById('sheet-viewer');
  var viewerImg = document.getElementById('viewer-img');
  var viewerTitle = document.getElementById('viewer-title');
  var viewerDetails = document.getElementById('viewer-details');
  var viewerMissing = document.getElementById('viewer-missing');
  var viewerList = [];
  var viewerPos = -1;

  function sheetSrc(e) {
    if (e.inline) {
      var holder = document.getElementById('sheet-data-' + e.id);
      return holder ? holder.textContent.trim() : null;
    }
    return e.sheet;
  }
  function showImage(src, alt) {
    if (src) {
      viewerImg.src = src;
      viewerImg.alt = alt;
      viewerImg.hidden = false;
      viewerMissing.hidden = true;
    } else {
      viewerImg.removeAttribute('src');
      viewerImg.alt = '';
      viewerImg.hidden = true;
      viewerMissing.hidden = false;
    }
  }
  function openModal() {
    if (!viewer.open) {
      if (typeof viewer.showModal === 'function') viewer.showModal(); else viewer.setAttribute('open', '');
    }
  }
  function showExperiment(id, list) {
    var e = byId.get(id);
    if (!e) return;
    if (list) viewerList = list;
    viewerPos = viewerList.indexOf(id);
    viewer.dataset.id = String(id);
    viewerTitle.textContent = '#' + e.id + ' · ' + e.source;
    viewerDetails.textContent = '';
    viewerDetails.appendChild(el('code', { 'class': 'method' }, e.method));
    var facts = ' — irregularity ' + fmt(e.irr, 4) + ', fraction ' + fmt(e.frac, 4) + '; ' + e.n_out +
      ' outlier coordinate' + (e.n_out === 1 ? '' : 's') + (e.out.length ? ' (' + e.out.join(', ') + (e.n_out > e.out.length ? ', …' : '') + ')' : '') +
      '; components: ' + e.n_g1 + ' in group 1, ' + e.n_g2 + ' in group 2.';
    viewerDetails.appendChild(document.createTextNode(facts));
    if (e.status !== 'ok') viewerDetails.appendChild(el('span', { 'class': 'status' }, 'status ' + e.status + (e.error ? ': ' + e.error : '')));
    if (e.svg) {
      viewerDetails.appendChild(document.createTextNode(' '));
      viewerDetails.appendChild(el('a', { href: e.svg, target: '_blank', rel: 'noopener' }, 'SVG'));
    }
    showImage(sheetSrc(e), 'Trajectory sheet of experiment ' + e.id + ': ' + e.source + ', ' + e.method);
    document.getElementById('viewer-prev').disabled = viewerPos <= 0;
    document.getElementById('viewer-next').disabled = viewerPos < 0 || viewerPos >= viewerList.length - 1;
    openModal();
  }
  function showFigure(src, title) {
    viewerList = []; viewerPos = -1;
    delete viewer.dataset.id;
    viewerTitle.textContent = title;
    viewerDetails.textContent = '';
    showImage(src, title);
    document.getElementById('viewer-prev').disabled = true;
    document.getElementById('viewer-next').disabled = true;
    openModal();
  }
  function step(d) {
    var p = viewerPos + d;
    if (viewerPos >= 0 && p >= 0 && p < viewerList.length) showExperiment(viewerList[p]);
  }
  document.getElementById('viewer-prev').addEventListener('click', function () { step(-1); });
  document.getElementById('viewer-next').addEventListener('click', function () { step(1); });
  document.getElementById('viewer-close').addEventListener('click', function () { viewer.close(); });
  viewer.addEventListener('click', function (ev) { if (ev.target === viewer) viewer.close(); });
  viewer.addEventListener('keydown', function (ev) {
    if (ev.key === 'ArrowLeft') { step(-1); ev.preventDefault(); }
    if (ev.key === 'ArrowRight') { step(1); ev.preventDefault(); }
  });
  viewer.addEventListener('close', function () { viewerImg.removeAttribute('src'); });
  Array.prototype.forEach.call(document.querySelectorAll('.figure-open'), function (b) {
    b.addEventListener('click', function () {
      var img = b.querySelector('img');
      showFigure(img.getAttribute('src'), img.getAttribute('alt'));
    });
  });

  // ---------------------------------------------------------------- the scatter
  var svg = document.getElementById('scatter');
  var tip = document.getElementById('scatter-tip');
  var hiddenSources = new Set();
  (function drawScatter() {
    var W = 720, H = 440, m = { l: 66, r: 18, t: 14, b: 54 };
    var pts = exps.filter(function (e) { return e.irr != null && e.frac != null; });
    function extent(f) {
      var lo = Infinity, hi = -Infinity;
      pts.forEach(function (e) { var v = f(e); if (v < lo) lo = v; if (v > hi) hi = v; });
      if (!isFinite(lo)) { lo = 0; hi = 1; }
      lo = Math.min(lo, 0);
      if (hi <= lo) hi = lo + 1;
      return [lo, hi];
    }
    function ticks(lo, hi) {
      var span = hi - lo, stepv = Math.pow(10, Math.floor(Math.log10(span / 5))), k = span / stepv;
      stepv *= k > 35 ? 10 : k > 15 ? 5 : k > 7 ? 2 : 1;
      var out = [], v = Math.ceil(lo / stepv - 1e-9) * stepv;
      for (; v <= hi + stepv * 1e-9; v += stepv) out.push(+v.toPrecision(12));
      return { ticks: out, step: stepv };
    }
    // Axes start at 0 (scores are shares) and end on the first tick at or above the largest value.
    var xe = extent(function (e) { return e.irr; }), ye = extent(function (e) { return e.frac; });
    var xt = ticks(xe[0], xe[1]), yt = ticks(ye[0], ye[1]);
    function top(t, hi) {
      var last = t.ticks[t.ticks.length - 1];
      if (last < hi * (1 + 1e-9)) { last = +(last + t.step).toPrecision(12); t.ticks.push(last); }
      return last;
    }
    var x0 = xe[0], x1 = top(xt, xe[1]), y0 = ye[0], y1 = top(yt, ye[1]);
    function sx(v) { return m.l + (v - x0) / (x1 - x0) * (W - m.l - m.r); }
    function sy(v) { return H - m.b - (v - y0) / (y1 - y0) * (H - m.t - m.b); }
    function decimals(s) { return Math.max(0, -Math.floor(Math.log10(s) + 1e-9)); }
    var gGrid = svgEl('g', { 'class': 'grid' }), gAxis = svgEl('g', { 'class': 'axis' });
    xt.ticks.forEach(function (v) {
      var x = sx(v);
      gGrid.appendChild(svgEl('line', { x1: x, x2: x, y1: m.t, y2: H - m.b }));
      gAxis.appendChild(svgEl('line', { x1: x, x2: x, y1: H - m.b, y2: H - m.b + 5 }));
      var t = svgEl('text', { x: x, y: H - m.b + 19, 'text-anchor': 'middle' }); t.textContent = v.toFixed(decimals(xt.step)); gAxis.appendChild(t);
    });
    yt.ticks.forEach(function (v) {
      var y = sy(v);
      gGrid.appendChild(svgEl('line', { x1: m.l, x2: W - m.r, y1: y, y2: y }));
      gAxis.appendChild(svgEl('line', { x1: m.l - 5, x2: m.l, y1: y, y2: y }));
      var t = svgEl('text', { x: m.l - 8, y: y + 4, 'text-anchor': 'end' }); t.textContent = v.toFixed(decimals(yt.step)); gAxis.appendChild(t);
    });
    gAxis.appendChild(svgEl('path', { d: 'M' + m.l + ' ' + m.t + 'V' + (H - m.b) + 'H' + (W - m.r), fill: 'none' }));
    var xl = svgEl('text', { x: (m.l + W - m.r) / 2, y: H - 12, 'text-anchor': 'middle', 'class': 'axis-label' });
    xl.textContent = 'irregularity (of the inliers\u2019 flow)';
    var yl = svgEl('text', { x: -(m.t + H - m.b) / 2, y: 16, transform: 'rotate(-90)', 'text-anchor': 'middle', 'class': 'axis-label' });
    yl.textContent = 'fraction (outlier coordinates)';
    gAxis.appendChild(xl); gAxis.appendChild(yl);
    svg.appendChild(gGrid); svg.appendChild(gAxis);
    var gPts = svgEl('g', { 'class': 'points' });
    pts.forEach(function (e) {
      var p = svgEl('path', {
        'class': 'pt', d: markerPath(markerOf(e.source), sx(e.irr), sy(e.frac), 4.2), fill: colourOf(e.source),
        'fill-opacity': '0.85', 'data-id': e.id, 'data-source': e.source
      });
      gPts.appendChild(p);
    });
    svg.appendChild(gPts);
    var missing = exps.length - pts.length;
    if (missing > 0) {
      var note = el('p', { 'class': 'note', id: 'scatter-missing' },
        missing + ' experiment' + (missing === 1 ? ' has' : 's have') + ' no score pair (failed or undefined) and ' + (missing === 1 ? 'is' : 'are') + ' not drawn.');
      svg.parentNode.appendChild(note);
    }
    if (data.scores_figure) {
      var p2 = el('p', { 'class': 'note' });
      var a = el('a', { href: data.scores_figure, target: '_blank', rel: 'noopener', id: 'scores-figure-link' }, 'the static scores figure');
      p2.appendChild(document.createTextNode('Also as an image: ')); p2.appendChild(a);
      svg.parentNode.appendChild(p2);
    }

    function hideTip() { tip.hidden = true; }
    svg.addEventListener('mousemove', function (ev) {
      var t = ev.target;
      if (!t.classList || !t.classList.contains('pt')) { hideTip(); return; }
      var e = byId.get(+t.getAttribute('data-id'));
      tip.textContent = '';
      tip.appendChild(el('b', null, '#' + e.id + ' · ' + e.source));
      tip.appendChild(el('span', { 'class': 'method' }, e.method));
      tip.appendChild(document.createTextNode('irregularity ' + fmt(e.irr, 4) + ' · fraction ' + fmt(e.frac, 4)));
      tip.hidden = false;
      var box = svg.parentNode.getBoundingClientRect();
      var x = ev.clientX - box.left + 14, y = ev.clientY - box.top + 14;
      if (x + tip.offsetWidth > box.width) x = Math.max(0, ev.clientX - box.left - tip.offsetWidth - 14);
      tip.style.left = x + 'px';
      tip.style.top = y + 'px';
    });
    svg.addEventListener('mouseleave', hideTip);
    svg.addEventListener('click', function (ev) {
      var t = ev.target;
      if (!t.classList || !t.classList.contains('pt')) return;
      hideTip();
      var ids = exps.filter(function (e) { return e.irr != null && e.frac != null && !hiddenSources.has(e.source); })
        .map(function (e) { return e.id; });
      showExperiment(+t.getAttribute('data-id'), ids);
    });

    var legend = document.getElementById('scatter-legend');
    data.sources.forEach(function (src) {
      var n = exps.filter(function (e) { return e.source === src; }).length;
      var b = el('button', { type: 'button', 'aria-pressed': 'true', 'data-source': src, title: 'Show or hide ' + src });
      var sw = svgEl('svg', { width: 14, height: 14, viewBox: '0 0 14 14', 'aria-hidden': 'true' });
      sw.appendChild(svgEl('path', { d: markerPath(markerOf(src), 7, 7, 4.6), fill: colourOf(src) }));
      b.appendChild(sw);
      b.appendChild(el('span', null, src));
      b.appendChild(el('span', { 'class': 'n' }, String(n)));
      b.addEventListener('click', function () {
        var on = b.getAttribute('aria-pressed') !== 'true';
        b.setAttribute('aria-pressed', on ? 'true' : 'false');
        if (on) hiddenSources.delete(src); else hiddenSources.add(src);
        Array.prototype.forEach.call(gPts.querySelectorAll('.pt'), function (p) {
          p.classList.toggle('off', hiddenSources.has(p.getAttribute('data-source')));
        });
      });
      var li = el('li'); li.appendChild(b); legend.appendChild(li);
    });
  })();

  // ---------------------------------------------------------------- the table
  var tbody = document.querySelector('#experiments-table tbody');
  var rows = new Map();
  var sourceFilter = document.getElementById('source-filter');
  var search = document.getElementById('method-search');
  var countEl = document.getElementById('row-count');
  var sortKey = 'id', sortDir = 1;
  data.sources.forEach(function (s) { sourceFilter.appendChild(el('option', { value: s }, s)); });

  // The first rows are built at once, the rest right after the first paint: the page shows up sooner.
  var FIRST_ROWS = 40;
  function buildRows(from, to) {
    var frag = document.createDocumentFragment();
    exps.slice(from, to).forEach(function (e) {
      var tr = el('tr', { 'data-id': e.id, 'data-source': e.source, tabindex: '0' });
      if (e.status !== 'ok') tr.className = 'failed';
      tr.appendChild(el('td', { 'class': 'num' }, String(e.id)));
      var tdThumb = el('td', { 'class': 'thumb' });
      if (e.thumb) tdThumb.appendChild(el('img', { src: e.thumb, loading: 'lazy', decoding: 'async', width: '80', height: '80', alt: '' }));
      else tdThumb.appendChild(el('span', { 'class': 'noimg', 'aria-hidden': 'true' }));
      tr.appendChild(tdThumb);
      var tdSrc = el('td', { 'class': 'source' });
      tdSrc.appendChild(el('span', { 'class': 'src-dot', style: 'background:' + colourOf(e.source), 'aria-hidden': 'true' }));
      tdSrc.appendChild(document.createTextNode(e.source));
      tr.appendChild(tdSrc);
      var tdM = el('td', { 'class': 'method' }, e.method);
      if (e.status !== 'ok') tdM.appendChild(el('span', { 'class': 'status' }, e.status + (e.error ? ': ' + e.error : '')));
      tr.appendChild(tdM);
      tr.appendChild(el('td', { 'class': 'num irr' }, fmt(e.irr, 4)));
      tr.appendChild(el('td', { 'class': 'num frac' }, fmt(e.frac, 4)));
      tr.appendChild(el('td', { 'class': 'num sum' }, fmt(sumOf(e), 4)));
      tr.appendChild(el('td', { 'class': 'num' }, e.n_out + ' · ' + e.n_g1 + ' · ' + e.n_g2));
      rows.set(e.id, tr);
      frag.appendChild(tr);
    });
    tbody.appendChild(frag);
  }
  buildRows(0, FIRST_ROWS);

  var KEYS = {
    id: function (e) { return e.id; },
    source: function (e) { return e.source; },
    method: function (e) { return e.method; },
    irregularity: function (e) { return e.irr; },
    fraction: function (e) { return e.frac; },
    sum: sumOf
  };
  function visibleIds() {
    var out = [];
    Array.prototype.forEach.call(tbody.children, function (tr) { if (!tr.hidden) out.push(+tr.getAttribute('data-id')); });
    return out;
  }
  function applySort() {
    var f = KEYS[sortKey];
    var sorted = exps.slice().sort(function (a, b) {
      var va = f(a), vb = f(b);
      if (va == null && vb == null) return a.id - b.id;
      if (va == null) return 1; // undefined scores last, in either direction
      if (vb == null) return -1;
      var c = typeof va === 'string' ? va.localeCompare(vb) : va - vb;
      return c !== 0 ? c * sortDir : a.id - b.id;
    });
    var frag = document.createDocumentFragment();
    sorted.forEach(function (e) { var tr = rows.get(e.id); if (tr) frag.appendChild(tr); });
    tbody.appendChild(frag);
    Array.prototype.forEach.call(document.querySelectorAll('#experiments-table th'), function (th) {
      var b = th.querySelector('button[data-sort]');
      if (b && b.getAttribute('data-sort') === sortKey) th.setAttribute('aria-sort', sortDir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    });
  }
  function applyFilter() {
    var src = sourceFilter.value;
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    exps.forEach(function (e) {
      var m = e.method.toLowerCase();
      var ok = (!src || e.source === src) && words.every(function (w) { return m.indexOf(w) >= 0; });
      var tr = rows.get(e.id);
      if (tr) tr.hidden = !ok;
      if (ok) shown++;
    });
    countEl.textContent = shown === exps.length ? exps.length + ' experiments' : shown + ' of ' + exps.length + ' experiments';
  }
  Array.prototype.forEach.call(document.querySelectorAll('#experiments-table button[data-sort]'), function (b) {
    b.addEventListener('click', function () {
      var k = b.getAttribute('data-sort');
      if (k === sortKey) sortDir = -sortDir; else { sortKey = k; sortDir = 1; }
      applySort();
    });
  });
  sourceFilter.addEventListener('change', applyFilter);
  search.addEventListener('input', applyFilter);
  tbody.addEventListener('click', function (ev) {
    var tr = ev.target.closest('tr[data-id]');
    if (tr) showExperiment(+tr.getAttribute('data-id'), visibleIds());
  });
  tbody.addEventListener('keydown', function (ev) {
    if (ev.key !== 'Enter' && ev.key !== ' ') return;
    var tr = ev.target.closest('tr[data-id]');
    if (tr) { ev.preventDefault(); showExperiment(+tr.getAttribute('data-id'), visibleIds()); }
  });
  // Hovering a row highlights its point in the scatter.
  tbody.addEventListener('mouseover', function (ev) {
    var tr = ev.target.closest('tr[data-id]');
    var prev = svg.querySelector('.pt.hl');
    if (prev) prev.classList.remove('hl');
    if (tr) { var p = svg.querySelector('.pt[data-id="' + tr.getAttribute('data-id') + '"]'); if (p) p.classList.add('hl'); }
  });
  applySort();
  applyFilter();
  function finish() {
    if (exps.length > FIRST_ROWS) {
      buildRows(FIRST_ROWS, exps.length);
      applySort();
      applyFilter();
    }
    document.documentElement.setAttribute('data-ready', 'true');
  }
  if (exps.length > FIRST_ROWS && typeof requestAnimationFrame === 'function') {
    // After the next frame is painted (rAF runs just before it; the timeout lands after it).
    requestAnimationFrame(function () { setTimeout(finish, 0); });
  } else {
    finish();
  }
})();
