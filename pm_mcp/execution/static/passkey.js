"use strict";
// pm-mcp's passkey ceremonies: the only script its pages run (served from the package, CSP script-src 'self').
// The approval page: navigator.credentials.get() with user verification, the answer posted with the form.
// The enrolment page (pm-mcp enroll): navigator.credentials.create(), attestation "none".
// Everything else (challenge, origin, flags, signature, counter) is checked by the server.
(function () {
  function fromB64url(text) {
    var s = String(text || "").replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }

  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function say(text) {
    var el = document.getElementById("passkey-status");
    if (el) { el.textContent = text; }
  }

  function ids(list) {
    return String(list || "").split(",").filter(Boolean).map(function (id) {
      return { type: "public-key", id: fromB64url(id) };
    });
  }

  function field(form, name, value) {
    form.elements.namedItem(name).value = value;
  }

  async function approve(form) {
    var cred = await navigator.credentials.get({ publicKey: {
      challenge: fromB64url(form.dataset.challenge),
      rpId: form.dataset.rpId,
      allowCredentials: ids(form.dataset.credentials),
      userVerification: "required",
      timeout: 120000
    } });
    field(form, "passkey_id", toB64url(cred.rawId));
    field(form, "passkey_client_data", toB64url(cred.response.clientDataJSON));
    field(form, "passkey_authenticator_data", toB64url(cred.response.authenticatorData));
    field(form, "passkey_signature", toB64url(cred.response.signature));
    form.submit();
  }

  async function enrol(form) {
    var algs = String(form.dataset.algs || "-7").split(",").map(function (a) {
      return { type: "public-key", alg: Number(a) };
    });
    var cred = await navigator.credentials.create({ publicKey: {
      rp: { id: form.dataset.rpId, name: "pm-mcp" },
      user: { id: fromB64url(form.dataset.userId), name: "pm-mcp", displayName: "pm-mcp approvals" },
      challenge: fromB64url(form.dataset.challenge),
      pubKeyCredParams: algs,
      authenticatorSelection: { userVerification: "required", residentKey: "preferred" },
      attestation: "none",
      excludeCredentials: ids(form.dataset.exclude),
      timeout: 120000
    } });
    field(form, "credential_id", toB64url(cred.rawId));
    field(form, "attestation_object", toB64url(cred.response.attestationObject));
    field(form, "client_data", toB64url(cred.response.clientDataJSON));
    form.submit();
  }

  function wire(buttonId, formId, run, waiting) {
    var button = document.getElementById(buttonId);
    var form = document.getElementById(formId);
    if (!button || !form) { return; }
    button.addEventListener("click", function () {
      if (!window.PublicKeyCredential || !navigator.credentials) {
        say("This browser cannot use a passkey on this page (it must be opened as http://localhost:...). " +
            "Nothing was placed.");
        return;
      }
      button.disabled = true;
      say(waiting);
      run(form).catch(function (err) {
        button.disabled = false;
        say("The passkey was not used (" + ((err && err.name) || "error") + "). Nothing was placed; try again.");
      });
    });
  }

  wire("approve-passkey", "approve-form", approve, "Waiting for your passkey...");
  wire("create", "enrol-form", enrol, "Follow your browser's passkey prompt...");
})();
