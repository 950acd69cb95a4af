// The publisher's notice page: the link's token comes in the fragment (#token=…), never in the request
// line; it is posted in the form body once, then the fragment is dropped from the address bar.
(function () {
  "use strict";
  const form = document.getElementById("token-form");
  if (!form) return;
  const token = new URLSearchParams(location.hash.replace(/^#/, "")).get("token");
  if (!token) return;
  const input = form.querySelector('input[name="token"]');
  if (!input) return;
  input.value = token;
  history.replaceState(null, "", location.pathname);
  form.submit();
})();
