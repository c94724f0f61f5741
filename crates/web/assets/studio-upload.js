// Uploads from the studio session page: a file picker or a dropped file, sent straight to /api/upload with a
// progress bar. The server decides what the file is from its bytes; this only reports what it says.
(function () {
  var zone = document.getElementById('upload-zone');
  if (!zone || zone.dataset.ready) return;
  zone.dataset.ready = '1';
  var input = document.getElementById('upload-file');
  var bar = document.getElementById('upload-progress');
  var status = document.getElementById('upload-status');

  function fail(message) {
    bar.hidden = true;
    status.textContent = 'Upload failed: ' + message;
  }

  function send(file) {
    var xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/upload?name=' + encodeURIComponent(file.name));
    xhr.setRequestHeader('X-CSRF-Token', zone.dataset.csrf);
    xhr.upload.onprogress = function (event) {
      if (event.lengthComputable) bar.value = Math.round((event.loaded * 100) / event.total);
    };
    xhr.onload = function () {
      if (xhr.status === 201) {
        bar.value = 100;
        status.textContent = 'Uploaded ' + file.name + '.';
        window.location.reload();
        return;
      }
      var detail = '';
      try { detail = JSON.parse(xhr.responseText).detail; } catch (_) { detail = ''; }
      fail(detail || 'the server answered ' + xhr.status);
    };
    xhr.onerror = function () { fail('the connection was lost.'); };
    bar.hidden = false;
    bar.value = 0;
    status.textContent = 'Uploading ' + file.name + '…';
    xhr.send(file);
  }

  input.addEventListener('change', function () {
    if (input.files.length) send(input.files[0]);
  });
  zone.addEventListener('dragover', function (event) {
    event.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', function () { zone.classList.remove('over'); });
  zone.addEventListener('drop', function (event) {
    event.preventDefault();
    zone.classList.remove('over');
    if (event.dataTransfer.files.length) send(event.dataTransfer.files[0]);
  });
})();
