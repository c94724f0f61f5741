// Live updates on the studio session page: joins the session's room on /realtime and keeps the export history
// current (progress bars, completion with a download link, failures). Without JavaScript the page still works;
// it just needs a reload to show progress.
(function () {
  var section = document.getElementById('exports');
  if (!section || section.dataset.live) return;
  section.dataset.live = '1';
  var sessionId = section.dataset.session;
  var table = document.getElementById('exports-table');
  var status = document.getElementById('realtime-status');
  var retry = 1000;

  function row(id) {
    var existing = document.getElementById('export-' + id);
    if (existing) return existing;
    // An export asked for elsewhere (another tab): add its row.
    var tr = document.createElement('tr');
    tr.id = 'export-' + id;
    tr.dataset.export = id;
    tr.innerHTML = '<td>now</td><td></td><td class="export-status"></td>' +
      '<td><progress class="export-progress" max="100" value="0" aria-label="Export progress"></progress> ' +
      '<span class="export-percent"></span></td><td class="export-file"></td>';
    table.tBodies[0].insertBefore(tr, table.tBodies[0].firstChild);
    table.hidden = false;
    var empty = document.getElementById('exports-empty');
    if (empty) empty.hidden = true;
    return tr;
  }

  function setProgress(tr, percent, state) {
    tr.querySelector('.export-progress').value = percent;
    tr.querySelector('.export-percent').textContent = percent + ' %';
    if (state) tr.querySelector('.export-status').textContent = state;
  }

  function handle(message) {
    var data = message.data || {};
    if (message.type === 'export.progress') {
      setProgress(row(data.exportId), data.progress, data.status || 'processing');
    } else if (message.type === 'export.completed') {
      var tr = row(data.exportId);
      setProgress(tr, 100, 'completed');
      var cell = tr.querySelector('.export-file');
      cell.textContent = '';
      var link = document.createElement('a');
      link.href = data.downloadUrl;
      link.textContent = 'Download';
      link.setAttribute('download', '');
      link.setAttribute('hx-boost', 'false');
      cell.appendChild(link);
      cell.appendChild(document.createTextNode(' (' + Math.round(data.fileSize / 1024) + ' KB)'));
    } else if (message.type === 'export.failed') {
      row(data.exportId).querySelector('.export-status').textContent = 'failed: ' + data.error;
    }
  }

  function connect() {
    var scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    var socket = new WebSocket(scheme + location.host + '/realtime?session=' + encodeURIComponent(sessionId));
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (_) { return; }
      if (message.type === 'joined') {
        status.textContent = 'Live: progress updates as it happens.';
        section.dataset.joined = '1';
        retry = 1000;
      }
      handle(message);
    };
    socket.onclose = function () {
      section.dataset.joined = '';
      status.textContent = 'Live updates paused; reconnecting…';
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }
  connect();
})();
