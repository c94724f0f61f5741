// Bulk imports: the upload form sends the file with an upload progress bar and opens the job's page; the job
// page follows the job's server-sent events and keeps its progress bar and counts current. Without JavaScript
// the form posts as is and the job page refreshes itself while the import runs.
(function () {
  var form = document.getElementById('import-form');
  if (form && !form.dataset.ready) {
    form.dataset.ready = '1';
    var input = document.getElementById('import-file');
    var bar = document.getElementById('import-upload-progress');
    var status = document.getElementById('import-upload-status');
    form.addEventListener('submit', function (event) {
      if (!input.files.length) return;
      event.preventDefault();
      var file = input.files[0];
      var xhr = new XMLHttpRequest();
      xhr.open('POST', '/ingest/isrc/bulk?name=' + encodeURIComponent(file.name));
      xhr.setRequestHeader('X-CSRF-Token', form.dataset.csrf);
      xhr.setRequestHeader('Accept', 'application/json');
      if (file.type) xhr.setRequestHeader('Content-Type', file.type);
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) bar.value = Math.round((e.loaded * 100) / e.total);
      };
      xhr.onload = function () {
        if (xhr.status === 202) {
          var job = JSON.parse(xhr.responseText);
          window.location.assign('/imports/' + job.id);
          return;
        }
        var detail = '';
        try { detail = JSON.parse(xhr.responseText).detail; } catch (_) { detail = ''; }
        bar.hidden = true;
        status.textContent = 'Import refused: ' + (detail || 'the server answered ' + xhr.status);
      };
      xhr.onerror = function () {
        bar.hidden = true;
        status.textContent = 'Upload failed: the connection was lost.';
      };
      bar.hidden = false;
      bar.value = 0;
      status.textContent = 'Uploading ' + file.name + '…';
      xhr.send(file);
    });
  }

  var job = document.getElementById('import-job');
  if (job && !job.dataset.ready && job.dataset.running === 'true' && window.EventSource) {
    job.dataset.ready = '1';
    var set = function (id, value) {
      var el = document.getElementById(id);
      if (el) el.textContent = value;
    };
    var source = new EventSource(job.dataset.events);
    source.addEventListener('progress', function (event) {
      var p = JSON.parse(event.data);
      document.getElementById('job-bar').value = p.percent;
      set('job-percent', p.percent + '%');
      set('job-status', p.status);
      set('job-processed', p.processedRecords);
      set('job-total', p.totalRecords);
      set('job-accepted', p.acceptedRecords);
      set('job-rejected', p.rejectedRecords);
      set('job-warnings', p.warningRecords);
      set('job-created', p.createdRecords);
      set('job-updated', p.updatedRecords);
      if (p.status === 'completed' || p.status === 'failed') {
        source.close();
        // The findings table is rendered by the server: load it once the job is done.
        window.location.reload();
      }
    });
  }
})();
