/**
 * The page's own script (plain browser JavaScript, kept as text so it is inlined verbatim).
 * It reads the embedded graph, folds/unfolds groups, draws with sigma.js and fills the side panel.
 * No backticks or template placeholders below: this is a String.raw literal.
 */
export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var scriptStart = performance.now();
  var data = JSON.parse(document.getElementById('pipe-graph-data').textContent);
  var hook = (window.__pipeGraph = { ready: false, nodeCount: 0, edgeCount: 0, firstRenderMs: null, error: null });
  var byId = new Map();
  data.nodes.forEach(function (n) { byId.set(n.id, n); });
  var NEUTRAL = '#c9d1d9';
  var KIND_COLORS = { stage: '#0969da', fetch: '#8250df', group: '#57606a' };
  var URGENCY = ['failed', 'running', 'missing-outputs', 'stale', 'never-run', 'unknown', 'fresh'];
  // up to this many drawn nodes every label is shown, under its node, and nodes are drawn larger
  var SMALL_GRAPH = 80;
  var layerGap = 1;

  // ---- groups: a namespace (cache:*) or a foreach job (*@film1) with two or more stages
  var groups = new Map();
  function join(groupId, kind, id) {
    if (!groups.has(groupId)) groups.set(groupId, { id: groupId, kind: kind, members: [] });
    groups.get(groupId).members.push(id);
  }
  data.nodes.forEach(function (n) {
    if (n.namespace) join(n.namespace + ':*', 'namespace', n.id);
    if (n.job) join('*@' + n.job, 'job', n.id);
  });
  groups.forEach(function (g, id) { if (g.members.length < 2) groups.delete(id); });
  var folded = new Set(data.folded.filter(function (id) { return groups.has(id); }));

  function representative(n) {
    var ns = n.namespace ? n.namespace + ':*' : null;
    if (ns && folded.has(ns)) return ns;
    var job = n.job ? '*@' + n.job : null;
    if (job && folded.has(job)) return job;
    return n.id;
  }
  function stateOf(n) { return data.status ? (n.state || 'unknown') : null; }
  function colorOf(kind, state) { return state ? data.states[state].stroke : KIND_COLORS[kind]; }
  function worst(states) {
    for (var i = 0; i < URGENCY.length; i++) if (states.indexOf(URGENCY[i]) >= 0) return URGENCY[i];
    return null;
  }

  // ---- the drawn graph (rebuilt whenever a group folds or unfolds)
  var graph = new graphology.Graph({ type: 'directed', multi: false, allowSelfLoops: false });
  var shownAs = new Map();
  function rebuild() {
    shownAs.clear();
    var shown = [];
    var pending = new Map();
    data.nodes.forEach(function (n) {
      var rep = representative(n);
      shownAs.set(n.id, rep);
      if (rep === n.id) {
        shown.push({ id: n.id, attrs: { size: n.kind === 'fetch' ? 5 : 6, label: n.id, color: colorOf(n.kind, stateOf(n)) } });
        return;
      }
      if (!pending.has(rep)) {
        pending.set(rep, { count: 0, states: [] });
        shown.push({ id: rep, attrs: null });
      }
      var p = pending.get(rep);
      p.count++;
      if (stateOf(n)) p.states.push(stateOf(n));
    });
    shown.forEach(function (s) {
      if (s.attrs) return;
      var p = pending.get(s.id);
      s.attrs = { size: 10, label: s.id + ' (' + p.count + ')', color: colorOf('group', data.status ? worst(p.states) : null), forceLabel: true };
    });
    var links = [];
    var seen = new Set();
    data.edges.forEach(function (e) {
      var a = shownAs.get(e.from), b = shownAs.get(e.to);
      if (a === undefined || b === undefined || a === b || seen.has(a + '\u0000' + b)) return;
      seen.add(a + '\u0000' + b);
      links.push([a, b]);
    });
    var position = layeredLayout(shown.map(function (s) { return s.id; }), links);
    var small = shown.length <= SMALL_GRAPH;
    graph.clear();
    shown.forEach(function (s) {
      var xy = position.get(s.id);
      s.attrs.x = xy.x; s.attrs.y = xy.y;
      if (small) { s.attrs.size = s.attrs.size * 1.6; s.attrs.forceLabel = true; }
      graph.addNode(s.id, s.attrs);
    });
    links.forEach(function (l) { graph.addDirectedEdge(l[0], l[1], { size: small ? 1.6 : 1.2, color: small ? '#8c959f' : '#b6bec8' }); });
    hook.nodeCount = graph.order;
    hook.edgeCount = graph.size;
    updateLegend();
    updateGroupButtons();
  }

  // ---- layered layout, left to right: longest-path layers (sources pulled next to their first consumer),
  // then barycentric ordering inside each layer
  function layeredLayout(ids, links) {
    var index = new Map();
    ids.forEach(function (id, i) { index.set(id, i); });
    var n = ids.length;
    var preds = [], succs = [], indegree = new Int32Array(n), layer = new Int32Array(n);
    for (var i = 0; i < n; i++) { preds.push([]); succs.push([]); }
    links.forEach(function (l) {
      var a = index.get(l[0]), b = index.get(l[1]);
      succs[a].push(b); preds[b].push(a); indegree[b]++;
    });
    var queue = [];
    for (i = 0; i < n; i++) if (indegree[i] === 0) queue.push(i);
    for (var head = 0; head < queue.length; head++) {
      var v = queue[head];
      succs[v].forEach(function (w) {
        layer[w] = Math.max(layer[w], layer[v] + 1);
        if (--indegree[w] === 0) queue.push(w);
      });
    }
    var deepest = 0;
    for (i = 0; i < n; i++) deepest = Math.max(deepest, layer[i]);
    for (i = 0; i < n; i++) if (indegree[i] > 0) layer[i] = deepest + 1;
    for (i = 0; i < n; i++) {
      if (preds[i].length === 0 && succs[i].length > 0) {
        var first = Infinity;
        succs[i].forEach(function (w) { first = Math.min(first, layer[w]); });
        layer[i] = first - 1;
      }
    }
    var layers = [];
    for (i = 0; i < n; i++) (layers[layer[i]] = layers[layer[i]] || []).push(i);
    for (i = 0; i < layers.length; i++) layers[i] = layers[i] || [];
    var pos = new Float64Array(n);
    function place(row) { row.forEach(function (v, k) { pos[v] = (k + 0.5) / row.length; }); }
    layers.forEach(place);
    for (var sweep = 0; sweep < 4; sweep++) {
      var down = sweep % 2 === 0;
      for (var s = 0; s < layers.length; s++) {
        var k = down ? s : layers.length - 1 - s;
        var around = down ? preds : succs;
        var key = new Map();
        layers[k].forEach(function (v, order) {
          var list = around[v];
          if (list.length === 0) { key.set(v, pos[v]); return; }
          var sum = 0;
          list.forEach(function (w) { sum += pos[w]; });
          key.set(v, sum / list.length + order * 1e-9);
        });
        layers[k].sort(function (a, b) { return key.get(a) - key.get(b); });
        place(layers[k]);
      }
    }
    var widest = 1;
    layers.forEach(function (row) { widest = Math.max(widest, row.length); });
    // keep the drawing no taller than about twice its width, whatever the batch size
    layerGap = Math.max(2, widest / Math.max(1, layers.length) / 2);
    // a short, wide pipeline gets its rows spread (up to 2.6) so it does not sit in a thin band mid-screen
    var box = container.getBoundingClientRect();
    var aspect = box.width > 0 ? box.height / box.width : 0.6;
    var rowGap = widest > 1 ? Math.min(2.6, Math.max(1, ((layers.length - 1) * layerGap * aspect * 0.6) / (widest - 1))) : 1;
    var position = new Map();
    layers.forEach(function (row, k) {
      row.forEach(function (v, order) { position.set(ids[v], { x: k * layerGap, y: ((row.length - 1) / 2 - order) * rowGap }); });
    });
    return position;
  }

  // ---- focus: the selected node and its neighbours, or the search matches
  var selected = null;
  var focus = null;
  function setFocus(ids) { focus = ids; if (renderer) renderer.refresh({ skipIndexation: true }); }

  var renderer = null;
  var container = document.getElementById('graph');
  // pixels between two layers at the current zoom, measured before each frame: a label may use that much
  var layerPitch = 120;
  function measurePitch() {
    var a = renderer.graphToViewport({ x: 0, y: 0 }), b = renderer.graphToViewport({ x: layerGap, y: 0 });
    layerPitch = Math.abs(b.x - a.x);
  }
  // 'asr:whisperx@film1' -> ['asr:whisperx', '@film1']: the stage on one line, its job on a second, quieter one
  function labelLines(label) {
    var at = label.lastIndexOf('@');
    return at > 0 ? [label.slice(0, at), label.slice(at)] : [label];
  }
  function fitText(ctx, text, max) {
    if (ctx.measureText(text).width <= max) return text;
    var lo = 0, hi = text.length;
    while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (ctx.measureText(text.slice(0, mid) + '…').width <= max) lo = mid; else hi = mid - 1; }
    return lo > 0 ? text.slice(0, lo) + '…' : '';
  }
  function labelFont(settings, weight, size) { return weight + ' ' + size + 'px ' + settings.labelFont; }
  function writeLine(ctx, text, x, y) {
    ctx.strokeText(text, x, y);
    ctx.fillText(text, x, y);
  }
  function drawLabel(ctx, d, settings) {
    if (!d.label) return;
    var max = Math.max(36, layerPitch - 12);
    var lines = labelLines(d.label);
    var size = settings.labelSize;
    ctx.save();
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.lineWidth = 3;
    ctx.lineJoin = 'round';
    ctx.strokeStyle = 'rgba(255,255,255,0.92)';
    var y = d.y + d.size + 3;
    ctx.font = labelFont(settings, 600, size);
    ctx.fillStyle = '#1f2328';
    writeLine(ctx, fitText(ctx, lines[0], max), d.x, y);
    if (lines[1]) {
      ctx.font = labelFont(settings, 400, size - 1);
      ctx.fillStyle = '#57606a';
      writeLine(ctx, fitText(ctx, lines[1], max), d.x, y + size + 2);
    }
    ctx.restore();
  }
  function drawHover(ctx, d, settings) {
    var n = byId.get(d.key);
    var lines = [d.label || d.key];
    var state = n ? stateOf(n) : null;
    if (state) lines.push(data.states[state].marker + ' ' + data.states[state].label + (n.reasons && n.reasons.length && state !== 'fresh' ? ': ' + n.reasons[0] : ''));
    else if (n && n.desc) lines.push(n.desc);
    var size = settings.labelSize;
    ctx.save();
    ctx.font = labelFont(settings, 600, size);
    var width = ctx.measureText(lines[0]).width;
    ctx.font = labelFont(settings, 400, size);
    for (var i = 1; i < lines.length; i++) width = Math.max(width, ctx.measureText(lines[i]).width);
    width = Math.min(width, 420);
    var h = lines.length * (size + 5) + 8, w = width + 16;
    var x = Math.min(Math.max(4, d.x - w / 2), ctx.canvas.width / (window.devicePixelRatio || 1) - w - 4);
    var y = d.y + d.size + 4;
    ctx.shadowColor = 'rgba(31,35,40,0.18)';
    ctx.shadowBlur = 8;
    ctx.fillStyle = '#fff';
    ctx.beginPath();
    if (ctx.roundRect) ctx.roundRect(x, y, w, h, 6); else ctx.rect(x, y, w, h);
    ctx.fill();
    ctx.shadowBlur = 0;
    ctx.strokeStyle = state ? data.states[state].stroke : '#d0d7de';
    ctx.lineWidth = 1;
    ctx.stroke();
    ctx.beginPath();
    ctx.arc(d.x, d.y, d.size + 3, 0, Math.PI * 2);
    ctx.stroke();
    ctx.textBaseline = 'top';
    ctx.textAlign = 'left';
    lines.forEach(function (line, i) {
      ctx.font = labelFont(settings, i === 0 ? 600 : 400, size);
      ctx.fillStyle = i === 0 ? '#1f2328' : state ? data.states[state].stroke : '#57606a';
      ctx.fillText(fitText(ctx, line, width), x + 8, y + 6 + i * (size + 5));
    });
    ctx.restore();
  }
  rebuild();
  try {
    renderer = new Sigma(graph, container, {
      defaultEdgeType: 'arrow',
      labelFont: 'system-ui, sans-serif',
      labelSize: 12,
      labelColor: { color: '#1f2328' },
      labelDensity: 0.6,
      labelGridCellSize: 90,
      labelRenderedSizeThreshold: 4,
      stagePadding: 60,
      defaultDrawNodeLabel: drawLabel,
      defaultDrawNodeHover: drawHover,
      zIndex: true,
      hideEdgesOnMove: data.nodes.length > 2000,
      hideLabelsOnMove: data.nodes.length > 2000,
      minCameraRatio: 0.005,
      maxCameraRatio: 4,
      nodeReducer: function (node, attrs) {
        if (!focus) return attrs;
        var res = Object.assign({}, attrs);
        if (focus.has(node)) { res.forceLabel = true; res.zIndex = 1; if (node === selected) res.highlighted = true; }
        else { res.color = NEUTRAL; res.label = ''; res.zIndex = 0; }
        return res;
      },
      edgeReducer: function (edge, attrs) {
        if (!focus) return attrs;
        var res = Object.assign({}, attrs);
        if (focus.has(graph.source(edge)) && focus.has(graph.target(edge))) { res.color = '#57606a'; res.size = 2; res.zIndex = 1; }
        else res.hidden = true;
        return res;
      },
    });
  } catch (error) {
    hook.error = String(error && error.message || error);
    container.textContent = 'This page draws with WebGL, which this browser has turned off: ' + hook.error;
    container.className += ' failed';
    return;
  }
  renderer.once('afterRender', function () {
    requestAnimationFrame(function () {
      hook.firstRenderMs = performance.now();
      hook.scriptMs = performance.now() - scriptStart;
      hook.ready = true;
      document.body.setAttribute('data-ready', 'true');
    });
  });
  // the first frame was drawn in the constructor, before the layer pitch could be measured
  renderer.on('beforeRender', measurePitch);
  measurePitch();
  renderer.refresh({ skipIndexation: true });

  // ---- selection and the side panel
  var panel = document.getElementById('details');
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function section(title, body) {
    var s = el('section');
    s.appendChild(el('h3', title));
    s.appendChild(body);
    panel.appendChild(s);
  }
  function list(items, clickable) {
    var ul = el('ul');
    if (items.length === 0) ul.appendChild(el('li', '—', 'muted'));
    items.forEach(function (item) {
      var li = el('li');
      if (clickable) {
        var a = el('a', item);
        a.href = '#';
        a.addEventListener('click', function (ev) { ev.preventDefault(); select(item, true); });
        li.appendChild(a);
      } else li.appendChild(el('code', item));
      ul.appendChild(li);
    });
    return ul;
  }
  function badge(state) {
    var s = data.states[state];
    var b = el('span', s.marker + ' ' + s.label, 'badge');
    b.style.background = s.fill; b.style.color = s.stroke; b.style.borderColor = s.stroke;
    return b;
  }
  function button(text, onClick) {
    var b = el('button', text);
    b.addEventListener('click', onClick);
    return b;
  }
  function neighbours(id, direction) {
    return direction === 'in' ? graph.inNeighbors(id) : graph.outNeighbors(id);
  }
  function showNode(id) {
    panel.textContent = '';
    panel.appendChild(el('h2', id, 'node-name'));
    var group = groups.get(id);
    if (group && folded.has(id)) {
      panel.appendChild(el('p', (group.kind === 'namespace' ? 'Namespace' : 'Job') + ' folded into one node: ' + group.members.length + ' stages.', 'desc'));
      panel.appendChild(button('Unfold ' + id, function () { toggle(id); select(group.members[0], true); }));
      var states = group.members.map(function (m) { return stateOf(byId.get(m)); }).filter(Boolean);
      if (data.status) { var w = worst(states); if (w) section('State', badge(w)); }
      section('Stages', list(group.members, true));
    } else {
      var n = byId.get(id);
      if (n.desc) panel.appendChild(el('p', n.desc, 'desc'));
      panel.appendChild(el('p', n.kind === 'fetch' ? 'model download (fetch)' : 'stage', 'kind'));
      if (data.status) {
        var box = el('div');
        box.appendChild(badge(n.state || 'unknown'));
        if (n.reasons && n.reasons.length) box.appendChild(list(n.reasons, false));
        section('State', box);
      }
      section('Command', el('pre', n.cmd || (n.kind === 'fetch' ? '(download into the model cache)' : '—')));
      section('Deps', list(n.deps, false));
      section('Outs', list(n.outs, false));
      var params = Object.keys(n.params || {});
      section('Params', params.length ? el('pre', JSON.stringify(n.params, null, 2)) : el('p', '—', 'muted'));
      section('Last run', el('p', n.lastRun ? new Date(n.lastRun.at).toLocaleString() + ' · ' + formatMs(n.lastRun.ms) : 'never recorded', n.lastRun ? '' : 'muted'));
      var foldable = [n.namespace ? n.namespace + ':*' : null, n.job ? '*@' + n.job : null].filter(function (g) { return g && groups.has(g); });
      if (foldable.length) {
        var actions = el('div', null, 'actions');
        foldable.forEach(function (g) { actions.appendChild(button('Fold ' + g, function () { toggle(g); select(g, true); })); });
        panel.appendChild(actions);
      }
    }
    section('Upstream', list(neighbours(id, 'in'), true));
    section('Downstream', list(neighbours(id, 'out'), true));
  }
  function formatMs(ms) { return ms < 1000 ? ms + ' ms' : ms < 60000 ? (ms / 1000).toFixed(1) + ' s' : Math.floor(ms / 60000) + ' min ' + Math.round((ms % 60000) / 1000) + ' s'; }

  function select(id, moveCamera) {
    if (!graph.hasNode(id)) id = shownAs.get(id) || id;
    if (!graph.hasNode(id)) return;
    selected = id;
    var ids = new Set([id]);
    graph.forEachNeighbor(id, function (m) { ids.add(m); });
    setFocus(ids);
    showNode(id);
    document.body.classList.add('has-selection');
    if (moveCamera) {
      var d = renderer.getNodeDisplayData(id);
      if (d) renderer.getCamera().animate({ x: d.x, y: d.y, ratio: Math.min(renderer.getCamera().ratio, 0.5) }, { duration: 300 });
    }
  }
  function clearSelection() {
    selected = null;
    setFocus(searchMatches());
    showOverview();
    document.body.classList.remove('has-selection');
  }
  // with --status and nothing selected: what a run would do, and why, stage by stage
  function showOverview() {
    panel.textContent = '';
    panel.appendChild(el('p', 'Click a stage to see its command, deps, outs, params, last run and state; hover one for its state.', 'muted'));
    if (!data.status) return;
    var todo = data.nodes.filter(function (n) { return stateOf(n) !== 'fresh'; });
    if (todo.length === 0) { section('State', el('p', 'Every stage is up to date.', 'desc')); return; }
    var ul = el('ul', null, 'todo');
    todo.forEach(function (n) {
      var li = el('li');
      var s = data.states[stateOf(n)];
      var mark = el('span', s.marker + ' ', 'marker');
      mark.style.color = s.stroke;
      li.appendChild(mark);
      var a = el('a', n.id);
      a.href = '#';
      a.addEventListener('click', function (ev) { ev.preventDefault(); select(n.id, true); });
      li.appendChild(a);
      if (n.reasons && n.reasons.length) li.appendChild(el('div', n.reasons.join('; '), 'reason'));
      ul.appendChild(li);
    });
    section('A run would update ' + todo.length + ' of ' + data.nodes.length + ' stages', ul);
  }
  renderer.on('clickNode', function (e) { select(e.node, false); });
  renderer.on('doubleClickNode', function (e) {
    if (groups.has(e.node) && folded.has(e.node)) { e.preventSigmaDefault(); var first = groups.get(e.node).members[0]; toggle(e.node); select(first, true); }
  });
  renderer.on('clickStage', clearSelection);
  renderer.on('enterNode', function () { container.style.cursor = 'pointer'; });
  renderer.on('leaveNode', function () { container.style.cursor = ''; });

  // ---- folding
  function toggle(id) {
    if (folded.has(id)) folded.delete(id); else folded.add(id);
    rebuild();
    if (selected && !graph.hasNode(selected)) selected = null;
  }
  function foldAll(kind, fold) {
    groups.forEach(function (g, id) { if (!kind || g.kind === kind) { if (fold) folded.add(id); else folded.delete(id); } });
    rebuild();
    clearSelection();
  }
  function updateGroupButtons() {
    var groupButtons = document.getElementById('group-buttons');
    var kinds = { namespace: 0, job: 0 };
    groups.forEach(function (g) { kinds[g.kind]++; });
    groupButtons.hidden = groups.size === 0;
    document.getElementById('fold-namespaces').hidden = kinds.namespace === 0;
    document.getElementById('fold-jobs').hidden = kinds.job === 0;
  }
  document.getElementById('fold-namespaces').addEventListener('click', function () { foldAll('namespace', true); });
  document.getElementById('fold-jobs').addEventListener('click', function () { foldAll('job', true); });
  document.getElementById('unfold-all').addEventListener('click', function () { foldAll(null, false); });
  document.getElementById('fit').addEventListener('click', function () { renderer.getCamera().animatedReset({ duration: 300 }); });

  // ---- search
  var search = document.getElementById('search');
  var searchInfo = document.getElementById('search-info');
  var cursor = -1;
  function searchMatches() {
    var q = search.value.trim().toLowerCase();
    if (!q) { searchInfo.textContent = ''; return null; }
    var hits = new Set();
    data.nodes.forEach(function (n) {
      if (n.id.toLowerCase().indexOf(q) >= 0 || (n.desc && n.desc.toLowerCase().indexOf(q) >= 0)) hits.add(shownAs.get(n.id));
    });
    searchInfo.textContent = hits.size + (hits.size === 1 ? ' match' : ' matches');
    return hits;
  }
  search.addEventListener('input', function () { cursor = -1; selected = null; setFocus(searchMatches()); });
  search.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') { search.value = ''; clearSelection(); return; }
    if (e.key !== 'Enter') return;
    var hits = searchMatches();
    if (!hits || hits.size === 0) return;
    var all = Array.from(hits);
    cursor = (cursor + 1) % all.length;
    select(all[cursor], true);
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === '/' && document.activeElement !== search) { e.preventDefault(); search.focus(); }
    if (e.key === 'Escape' && document.activeElement !== search) clearSelection();
  });

  // ---- legend
  function updateLegend() {
    var legend = document.getElementById('legend');
    legend.textContent = '';
    var counts = new Map();
    graph.forEachNode(function (id, attrs) {
      var n = byId.get(id);
      var key = data.status ? (n ? stateOf(n) : null) : (n ? n.kind : 'group');
      if (data.status && !n) {
        var g = groups.get(id);
        key = worst(g.members.map(function (m) { return stateOf(byId.get(m)); }));
      }
      counts.set(key, (counts.get(key) || 0) + 1);
    });
    var keys = data.status ? URGENCY.slice().reverse() : ['stage', 'fetch', 'group'];
    keys.forEach(function (key) {
      if (!counts.has(key)) return;
      var row = el('div', null, 'legend-row');
      var dot = el('span', null, 'dot');
      dot.style.background = data.status ? data.states[key].stroke : KIND_COLORS[key];
      row.appendChild(dot);
      row.appendChild(el('span', (data.status ? data.states[key].label : key === 'fetch' ? 'model download' : key === 'group' ? 'folded group' : 'stage') + ' · ' + counts.get(key)));
      legend.appendChild(row);
    });
    legend.appendChild(el('div', graph.order + ' nodes · ' + graph.size + ' edges' + (folded.size ? ' · ' + folded.size + ' folded' : ''), 'legend-total'));
  }

  hook.graph = graph;
  hook.renderer = renderer;
  hook.select = function (id) { select(id, false); };
  hook.toggle = toggle;
  hook.screenPosition = function (id) {
    var p = renderer.graphToViewport(graph.getNodeAttributes(id));
    var box = container.getBoundingClientRect();
    return { x: box.left + p.x, y: box.top + p.y };
  };
  clearSelection();
})();
`;
