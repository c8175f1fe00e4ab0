/*
 * Zhonglian receipt verifier (runs entirely in the browser).
 *
 * Checks a version-1 JSON receipt, or an offline proof (c2sp.org/tlog-proof@v1, recognised by
 * its first line), against a trust policy (c2sp.org/tlog-policy) or, when no policy is given,
 * against the public ledger's verifier key alone:
 *   1. parse       receipt JSON shape and field formats, or the proof's lines
 *   2. tx_hash     SHA-256(entry) == tx_hash (a proof's entry is its `extra` line)
 *   3. leaf_hash   RFC 9162 leaf hash SHA-256(0x00 || tx_hash)
 *   4. inclusion   RFC 9162 §2.1.3.2 inclusion proof recomputes the root (a proof's size and
 *                  root are the checkpoint's)
 *   5. checkpoint  signed-note checkpoint names tree_size and root_hash
 *   6. signature   Ed25519 signature on the checkpoint by the verifier key, or by the policy's
 *                  log whose key name is the checkpoint's origin
 *   7. quorum      (with a policy) the witnesses' cosignature/v1 lines meet the policy's quorum
 *   8. party       (receipts only, optional) salted party commitment appears in the entry
 * The policy and cosignature rules are those of src/ledger/policy.rs and src/ledger/note.rs,
 * the proof format that of src/ledger/tlog_proof.rs.
 *
 * No libraries, no network, no eval, no innerHTML. Only WebCrypto is used.
 * Public API: window.ZhonglianVerify.verifyReceipt(receiptText, keyText, policyText, now)
 *   -> Promise<{valid, tampered, message, steps: [{id, ok, detail, kind, args, text}]}>
 *   ok is true (pass), false (fail) or null (not applicable); detail is the technical text in
 *   English, args the values a translated sentence names, text (when set) the name of that
 *   sentence; now is the time in Unix seconds (default: the clock).
 *
 * Every text the page shows comes from the page's language: the server writes the catalogue's
 * strings into <script type="application/json" id="verify-text"> (no inline script runs under
 * the CSP). A passed step reads "detail_<step>" with {placeholders} filled from args; a failed
 * one reads "fail_<kind>" (the English technical detail is added only on English pages); a step
 * that names its own sentence (text) reads that one instead.
 */
(function () {
  'use strict';

  var MAX_RECEIPT_CHARS = 1024 * 1024;   // receipts are a few KiB
  var MAX_POLICY_CHARS = 128 * 1024;     // 256 definitions of a few hundred characters
  var MAX_PATH_LEN = 64;                 // RFC 9162: at most 64 hashes
  var MAX_SIG_LINES = 100;               // as in the Go signed-note code
  var MAX_DEFINITIONS = 256;             // logs, witnesses and groups: policy.rs MAX_DEFINITIONS
  var MAX_CLOCK_SKEW = 300n;             // seconds a cosignature may be ahead: policy.rs
  var MAX_TIMESTAMP = 9223372036854775807n; // note.rs refuses timestamps above i64::MAX
  var MAX_INDEX = 18446744073709551615n;    // a proof's index is a u64
  var PARTY_DOMAIN = 'zhonglian/party/v1';
  var PROOF_HEADER = 'c2sp.org/tlog-proof@v1';
  var TYPE_ED25519 = 0x01;               // the log's signature
  var TYPE_COSIGNATURE = 0x04;           // c2sp.org/tlog-cosignature, cosignature/v1

  var STEP_IDS = ['parse', 'tx_hash', 'leaf_hash', 'inclusion', 'checkpoint', 'signature', 'quorum',
    'party'];

  // Steps that may be "not applicable" in a valid result: no policy, no party salt, a proof.
  var OPTIONAL_STEPS = { quorum: true, party: true };

  // [step id, dataset key on #verify-steps, English fallback]
  var STEP_LABELS = {
    parse: ['stepParse', 'Receipt format'],
    tx_hash: ['stepTxHash', 'Transaction hash matches the entry'],
    leaf_hash: ['stepLeafHash', 'Merkle leaf hash'],
    inclusion: ['stepInclusion', 'Inclusion proof leads to the ledger root'],
    checkpoint: ['stepCheckpoint', 'Checkpoint matches tree size and root'],
    signature: ['stepSignature', 'Checkpoint signed by the ledger key'],
    quorum: ['stepQuorum', "Cosignatures meet the policy's quorum"],
    party: ['stepParty', 'Your party commitment is in the entry']
  };

  var DEFAULT_TEXT = {
    valid: 'valid: this receipt is included in the ledger and its checkpoint is signed by the ledger key',
    invalid: 'invalid: this receipt could not be verified',
    tampered: 'invalid: this receipt has been tampered with or does not belong to this ledger',
    pass: 'passed',
    fail: 'failed',
    na: 'not applicable',
    working: 'verifying…',
    list_none: 'none'
  };

  // Failure kinds. Only "mismatch" means the receipt was altered / is foreign.
  var K_MISMATCH = 'mismatch';     // hash, proof, checkpoint or signature mismatch
  var K_FORMAT = 'format';         // not a receipt at all (bad JSON, wrong version, empty), or a
                                   // trust policy that breaks the grammar
  var K_DEPENDENCY = 'dependency'; // not checked because an earlier step failed
  var K_KEY = 'key';               // verifier key (or a policy's key) missing or malformed
  var K_QUORUM = 'quorum';         // too few valid cosignatures for the policy's quorum
  var K_NO_ENTRY = 'no_entry';     // a proof without its entry (no extra line)
  var K_UNSUPPORTED = 'unsupported'; // browser lacks WebCrypto / Ed25519
  var K_ERROR = 'error';           // unexpected exception

  // ---------------------------------------------------------------- helpers

  // text/args: the sentence that says this failure in the page's language, and its values.
  function VerifyError(kind, message, text, args) {
    this.kind = kind;
    this.message = message;
    this.text = text || null;
    this.args = args || {};
  }

  function fail(kind, message, text, args) {
    throw new VerifyError(kind, message, text, args);
  }

  function errText(e) {
    if (e && typeof e.message === 'string' && e.message) {
      return (e.name && e.name !== 'Error' ? e.name + ': ' : '') + e.message;
    }
    try { return String(e); } catch (_) { return 'unknown error'; }
  }

  var HEX64_RE = /^[0-9a-fA-F]{64}$/;
  var B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

  function hexToBytes(hex) {
    var out = new Uint8Array(hex.length / 2);
    for (var i = 0; i < out.length; i++) {
      out[i] = parseInt(hex.substr(i * 2, 2), 16);
    }
    return out;
  }

  function bytesToHex(bytes) {
    var s = '';
    for (var i = 0; i < bytes.length; i++) {
      s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    }
    return s;
  }

  function bytesToB64(bytes) {
    var bin = '';
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin);
  }

  // Strict standard base64 (padding required, canonical trailing bits).
  function b64ToBytes(s) {
    if (typeof s !== 'string' || !B64_RE.test(s)) return null;
    var bin;
    try { bin = atob(s); } catch (_) { return null; }
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    if (bytesToB64(out) !== s) return null;
    return out;
  }

  function bytesEqual(a, b) {
    if (!a || !b || a.length !== b.length) return false;
    var d = 0;
    for (var i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
  }

  function concatBytes() {
    var total = 0, i;
    for (i = 0; i < arguments.length; i++) total += arguments[i].length;
    var out = new Uint8Array(total), off = 0;
    for (i = 0; i < arguments.length; i++) {
      out.set(arguments[i], off);
      off += arguments[i].length;
    }
    return out;
  }

  function isWellFormedString(s) {
    if (typeof s.isWellFormed === 'function') return s.isWellFormed();
    return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
  }

  var utf8 = new TextEncoder();

  function subtle() {
    var c = (typeof globalThis !== 'undefined' ? globalThis : window).crypto;
    if (!c || !c.subtle) {
      fail(K_UNSUPPORTED, 'WebCrypto is not available in this browser or page ' +
        '(it requires a secure context: HTTPS or localhost); nothing could be checked');
    }
    return c.subtle;
  }

  async function sha256(bytes) {
    return new Uint8Array(await subtle().digest('SHA-256', bytes));
  }

  var LEAF_PREFIX = new Uint8Array([0]);
  var NODE_PREFIX = new Uint8Array([1]);

  function leafHash(leafInput) {
    return sha256(concatBytes(LEAF_PREFIX, leafInput));
  }

  function nodeHash(left, right) {
    return sha256(concatBytes(NODE_PREFIX, left, right));
  }

  function short(hex) {
    return hex.length > 16 ? hex.slice(0, 16) + '…' : hex;
  }

  // ------------------------------------------------ RFC 9162 §2.1.3.2 proof

  /*
   * Recomputes the root from an inclusion path, exactly as RFC 9162
   * §2.1.3.2. index/size: Number (safe integer) or BigInt; leaf: 32 bytes;
   * path: array of 32-byte Uint8Arrays. Returns {root} or {error}.
   */
  async function rootFromInclusionProof(index, size, leaf, path) {
    var fn = BigInt(index);
    var size_ = BigInt(size);
    if (fn < 0n || size_ < 1n || fn >= size_) {
      return { error: 'leaf_index must be smaller than tree_size' };
    }
    var sn = size_ - 1n;
    var r = leaf;
    for (var i = 0; i < path.length; i++) {
      var p = path[i];
      if (sn === 0n) {
        return { error: 'inclusion path is longer than this leaf index and tree size allow' };
      }
      if ((fn & 1n) === 1n || fn === sn) {
        r = await nodeHash(p, r);
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    if (sn !== 0n) {
      return { error: 'inclusion path is shorter than this leaf index and tree size require' };
    }
    return { root: r };
  }

  // --------------------------------------------------------- signed notes

  var SIG_PREFIX = '\u2014 '; // EM DASH + space

  function isValidKeyName(name) {
    return typeof name === 'string' && name.length > 0 &&
      name.indexOf('+') < 0 && !/[\s\u0000-\u001F\u007F]/.test(name) &&
      isWellFormedString(name);
  }

  /*
   * Splits a C2SP signed note into body (up to and including the newline
   * before the blank line) and signature lines. Throws VerifyError(mismatch).
   */
  function parseNote(text) {
    if (typeof text !== 'string' || text.length === 0) fail(K_MISMATCH, 'checkpoint is empty');
    if (!isWellFormedString(text)) fail(K_MISMATCH, 'checkpoint is not valid UTF-8 text');
    if (/[\u0000-\u0009\u000B-\u001F]/.test(text)) {
      fail(K_MISMATCH, 'checkpoint contains control characters other than newline');
    }
    if (text.charAt(text.length - 1) !== '\n') fail(K_MISMATCH, 'checkpoint does not end with a newline');
    var split = text.lastIndexOf('\n\n');
    if (split < 0) fail(K_MISMATCH, 'checkpoint has no blank line before its signatures');
    var body = text.slice(0, split + 1);
    var sigText = text.slice(split + 2);
    if (body.length === 0 || body === '\n') fail(K_MISMATCH, 'checkpoint body is empty');
    if (sigText.length === 0) fail(K_MISMATCH, 'checkpoint has no signature lines');
    var lines = sigText.slice(0, -1).split('\n');
    if (lines.length > MAX_SIG_LINES) fail(K_MISMATCH, 'checkpoint has too many signature lines');
    var sigs = [];
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i];
      if (line.slice(0, SIG_PREFIX.length) !== SIG_PREFIX) {
        fail(K_MISMATCH, 'checkpoint signature line ' + (i + 1) + ' does not start with "\u2014 "');
      }
      var rest = line.slice(SIG_PREFIX.length);
      var sp = rest.indexOf(' ');
      if (sp <= 0) fail(K_MISMATCH, 'checkpoint signature line ' + (i + 1) + ' is malformed');
      var name = rest.slice(0, sp);
      var raw = b64ToBytes(rest.slice(sp + 1));
      if (!isValidKeyName(name) || !raw || raw.length < 5) {
        fail(K_MISMATCH, 'checkpoint signature line ' + (i + 1) + ' is malformed');
      }
      sigs.push({ name: name, keyId: raw.slice(0, 4), sig: raw.slice(4) });
    }
    return { body: body, sigs: sigs };
  }

  /* Parses the C2SP tlog-checkpoint body: origin, size, base64 root, extensions. */
  function parseCheckpointBody(body) {
    var lines = body.slice(0, -1).split('\n');
    if (lines.length < 3) fail(K_MISMATCH, 'checkpoint body has fewer than three lines');
    var origin = lines[0];
    if (origin.length === 0) fail(K_MISMATCH, 'checkpoint origin line is empty');
    if (!/^(0|[1-9][0-9]*)$/.test(lines[1]) || lines[1].length > 20) {
      fail(K_MISMATCH, 'checkpoint tree size line is not a decimal number');
    }
    var root = b64ToBytes(lines[2]);
    if (!root || root.length !== 32) fail(K_MISMATCH, 'checkpoint root hash line is not 32 bytes of base64');
    for (var i = 3; i < lines.length; i++) {
      if (lines[i].length === 0) fail(K_MISMATCH, 'checkpoint body contains an empty line');
    }
    return { origin: origin, size: BigInt(lines[1]), root: root, extensions: lines.slice(3) };
  }

  /*
   * Parses a vkey "<name>+<8 hex key id>+<base64(type || 32-byte Ed25519 key)>" of type 0x01
   * (Ed25519) or 0x04 (cosignature/v1) and checks its id, as note.rs VerifierKey::parse.
   * Throws VerifyError(key).
   */
  async function parseVkey(text) {
    if (typeof text !== 'string') fail(K_KEY, 'no verifier key was provided');
    var t = text.trim();
    if (t.length === 0) fail(K_KEY, 'no verifier key was provided');
    var parts = t.split('+');
    // The base64 part may itself contain "+": name and id never do.
    if (parts.length < 3) fail(K_KEY, 'verifier key is not in "<name>+<key id>+<base64 key>" form');
    var name = parts[0];
    var idHex = parts[1];
    var keyB64 = parts.slice(2).join('+');
    if (!isValidKeyName(name)) fail(K_KEY, 'verifier key name is invalid');
    if (!/^[0-9a-fA-F]{8}$/.test(idHex)) fail(K_KEY, 'verifier key id is not 8 hex digits');
    var raw = b64ToBytes(keyB64);
    if (!raw) fail(K_KEY, 'verifier key material is not valid base64');
    if (raw.length !== 33 || (raw[0] !== TYPE_ED25519 && raw[0] !== TYPE_COSIGNATURE)) {
      fail(K_KEY, 'verifier key is not an Ed25519 (0x01) or cosignature (0x04) key of 32 bytes');
    }
    var pub = raw.slice(1);
    var keyId = hexToBytes(idHex);
    var computed = (await sha256(concatBytes(utf8.encode(name), new Uint8Array([0x0A, raw[0]]), pub)))
      .slice(0, 4);
    if (!bytesEqual(computed, keyId)) {
      fail(K_KEY, 'verifier key id ' + idHex.toLowerCase() + ' does not match its key (expected ' +
        bytesToHex(computed) + ')');
    }
    return { name: name, keyId: keyId, type: raw[0], pub: pub };
  }

  /* Parses the log's verifier key: a vkey of type 0x01. */
  async function parseVerifierKey(text) {
    var key = await parseVkey(text);
    if (key.type !== TYPE_ED25519) {
      fail(K_KEY, 'verifier key is not an Ed25519 key (expected 0x01 followed by 32 bytes)');
    }
    return key;
  }

  /* Whether a signature line is this key's: the same name and key id (note.rs `owns`). */
  function owns(key, sig) {
    return sig.name === key.name && bytesEqual(sig.keyId, key.keyId);
  }

  async function ed25519Verify(pub, sig, message) {
    var s = subtle();
    var key;
    try {
      key = await s.importKey('raw', pub, { name: 'Ed25519' }, false, ['verify']);
    } catch (e) {
      if (e && (e.name === 'NotSupportedError' || e.name === 'TypeError')) {
        fail(K_UNSUPPORTED, 'this browser does not support Ed25519 signatures in WebCrypto, ' +
          'so the checkpoint signature could not be checked; use a current browser ' +
          '(Chrome/Edge 137+, Firefox 129+, Safari 17+)');
      }
      fail(K_KEY, 'the verifier key could not be imported: ' + errText(e));
    }
    try {
      return await s.verify({ name: 'Ed25519' }, key, sig, message);
    } catch (e) {
      if (e && e.name === 'NotSupportedError') {
        fail(K_UNSUPPORTED, 'this browser does not support Ed25519 signatures in WebCrypto, ' +
          'so the checkpoint signature could not be checked');
      }
      fail(K_ERROR, 'signature verification error: ' + errText(e));
    }
  }

  // ------------------------------------------------------ cosignatures (note.rs)

  /* The message a cosignature/v1 signs: header, timestamp line, then the note body. */
  function cosignedMessage(timestamp, body) {
    return 'cosignature/v1\ntime ' + timestamp.toString() + '\n' + body;
  }

  /*
   * Checks one cosignature/v1 line of a witness key over the note body, as note.rs
   * VerifierKey::check: key id(4) was split off; the rest is timestamp (8 bytes, big-endian)
   * and the Ed25519 signature (64). Returns {time} (a BigInt) or {error}.
   */
  async function checkCosignature(key, body, sig) {
    if (sig.length !== 8 + 64) return { error: 'the cosignature has the wrong length' };
    var timestamp = 0n;
    for (var i = 0; i < 8; i++) timestamp = (timestamp << 8n) | BigInt(sig[i]);
    if (timestamp > MAX_TIMESTAMP) return { error: 'the cosignature timestamp is out of range' };
    var ok;
    try {
      ok = await ed25519Verify(key.pub, sig.slice(8), utf8.encode(cosignedMessage(timestamp, body)));
    } catch (e) {
      // A key WebCrypto refuses counts as a bad cosignature; a browser without Ed25519 stops all.
      if (e instanceof VerifyError && e.kind === K_KEY) return { error: e.message };
      throw e;
    }
    return ok ? { time: timestamp } : { error: 'the cosignature is not valid' };
  }

  // --------------------------------------------------- trust policy (policy.rs)

  // Policy errors about keys are reported as "key", the others as "format" (never "mismatch").
  var POLICY_KEY_ERRORS = { key: true, key_type: true, duplicate_key: true };

  /* Throws the policy error `code` (its sentence is "policy_<code>"); line is 1-based. */
  function policyFail(code, line, detail, args) {
    var values = args || {};
    if (line) values.line = line;
    fail(POLICY_KEY_ERRORS[code] ? K_KEY : K_FORMAT,
      (line ? 'trust policy line ' + line + ': ' : 'trust policy: ') + detail,
      'policy_' + code, values);
  }

  /* The spec's whitespace: ASCII space and tab only. */
  function policyItems(line) {
    return line.split(/[ \t]/).filter(function (s) { return s.length > 0; });
  }

  /*
   * Parses a trust policy exactly per policy.rs Policy::parse:
   *   log <vkey> [<url>] | witness <name> <vkey> [<url>] | group <name> all|any|<k> <name>...
   *   quorum <name>|none | # comment
   * Returns {logs: [{key, url}], witnesses: [{name, key, url}], groups: [{name, k, members}],
   * quorum} where a member is {witness: i} or {group: i} and quorum is a member or null
   * ("quorum none"). Throws VerifyError(key|format) naming the line.
   */
  async function parsePolicy(text) {
    if (text.length > MAX_POLICY_CHARS) {
      policyFail('too_large', 0, 'the policy is longer than ' + MAX_POLICY_CHARS + ' characters');
    }
    var policy = { logs: [], witnesses: [], groups: [], quorum: null };
    var quorumSeen = false;

    function defined(name) {
      return name === 'none' ||
        policy.witnesses.some(function (w) { return w.name === name; }) ||
        policy.groups.some(function (g) { return g.name === name; });
    }
    function lookup(line, name) {
      for (var i = 0; i < policy.witnesses.length; i++) {
        if (policy.witnesses[i].name === name) return { witness: i };
      }
      for (var j = 0; j < policy.groups.length; j++) {
        if (policy.groups[j].name === name) return { group: j };
      }
      policyFail('undefined', line, '`' + name + '` is not defined on a preceding line', { name: name });
    }
    async function key(line, text, type) {
      var k;
      try {
        k = await parseVkey(text);
      } catch (e) {
        if (!(e instanceof VerifyError)) throw e;
        policyFail('key', line, 'the verifier key is not valid: ' + e.message);
      }
      if (k.type !== type) {
        policyFail('key_type', line,
          'a log key must be an Ed25519 (0x01) key, a witness key a cosignature (0x04) key');
      }
      return k;
    }
    // "Two vkeys are considered duplicate if they wrap the same underlying public key, even if
    // they differ by key name and key id."
    function duplicateKey(line, list, k) {
      if (list.some(function (x) { return bytesEqual(x.key.pub, k.pub); })) {
        policyFail('duplicate_key', line, 'the same public key is listed twice');
      }
    }

    async function addLog(n, rest) {
      if (rest.length < 1 || rest.length > 2) policyFail('arity', n, 'wrong number of items');
      var k = await key(n, rest[0], TYPE_ED25519);
      duplicateKey(n, policy.logs, k);
      policy.logs.push({ key: k, url: rest.length > 1 ? rest[1] : null });
    }
    async function addWitness(n, rest) {
      if (rest.length < 2 || rest.length > 3) policyFail('arity', n, 'wrong number of items');
      var name = rest[0];
      if (defined(name)) {
        policyFail('duplicate_name', n, 'the name `' + name + '` is already defined or reserved',
          { name: name });
      }
      var k = await key(n, rest[1], TYPE_COSIGNATURE);
      duplicateKey(n, policy.witnesses, k);
      policy.witnesses.push({ name: name, key: k, url: rest.length > 2 ? rest[2] : null });
    }
    function addGroup(n, rest) {
      if (rest.length < 3) policyFail('arity', n, 'wrong number of items');
      var name = rest[0];
      if (defined(name)) {
        policyFail('duplicate_name', n, 'the name `' + name + '` is already defined or reserved',
          { name: name });
      }
      var members = [];
      rest.slice(2).forEach(function (m) {
        // `none` "is invalid as a group member": lookup never finds it.
        var found = lookup(n, m);
        var twice = members.some(function (x) {
          return x.witness === found.witness && x.group === found.group;
        });
        if (twice) policyFail('duplicate_member', n, '`' + m + '` is listed twice in the group', { name: m });
        members.push(found);
      });
      var threshold = rest[1];
      var k;
      if (threshold === 'all') {
        k = members.length;
      } else if (threshold === 'any') {
        k = 1;
      } else if (/^[0-9]+$/.test(threshold) && Number(threshold) >= 1 && Number(threshold) <= members.length) {
        k = Number(threshold);
      } else {
        policyFail('threshold', n, "a group's threshold must be all, any or a decimal k with 1 <= k <= n");
      }
      policy.groups.push({ name: name, k: k, members: members });
    }

    var lines = text.split('\n');
    for (var i = 0; i < lines.length; i++) {
      var n = i + 1;
      var line = lines[i];
      // Allowed: tab, newline (split off), printable ASCII and anything beyond ASCII.
      if (/[\u0000-\u0008\u000A-\u001F\u007F]/.test(line) || !isWellFormedString(line)) {
        policyFail('character', n, 'only tab, newline and printable characters are allowed');
      }
      var items = policyItems(line);
      if (items.length === 0 || items[0].charAt(0) === '#') continue;
      var keyword = items[0];
      var rest = items.slice(1);
      if (keyword === 'log') {
        await addLog(n, rest);
      } else if (keyword === 'witness') {
        await addWitness(n, rest);
      } else if (keyword === 'group') {
        addGroup(n, rest);
      } else if (keyword === 'quorum') {
        if (quorumSeen) policyFail('second_quorum', n, 'a second quorum line');
        if (rest.length !== 1) policyFail('arity', n, 'wrong number of items');
        policy.quorum = rest[0] === 'none' ? null : lookup(n, rest[0]);
        quorumSeen = true;
      } else {
        policyFail('keyword', n, 'unknown keyword `' + keyword + '`', { word: keyword });
      }
      if (policy.logs.length + policy.witnesses.length + policy.groups.length > MAX_DEFINITIONS) {
        policyFail('too_large', 0, 'the policy defines more than ' + MAX_DEFINITIONS +
          ' logs, witnesses or groups');
      }
    }
    if (!quorumSeen) policyFail('no_quorum', 0, 'the policy has no quorum line');
    return policy;
  }

  /* Whether a member (witness or group) is satisfied by the witnesses that signed. */
  function witnessed(policy, member, signed) {
    if (member.witness !== undefined) return signed[member.witness];
    var group = policy.groups[member.group];
    var count = group.members.filter(function (m) { return witnessed(policy, m, signed); }).length;
    return count >= group.k;
  }

  /*
   * What became of each policy witness's cosignature on a parsed note, as policy.rs
   * witness_outcome: the first line of its key that verifies, with a timestamp at most
   * MAX_CLOCK_SKEW seconds past `now`, counts; lines under unknown keys are ignored.
   * Returns {witnesses: [{name, signed, time, why}], signed: [names], unsigned: [names],
   * unknown: [names], quorumMet}.
   */
  async function evaluateWitnesses(policy, note, now) {
    var limit = BigInt(now) + MAX_CLOCK_SKEW;
    var outcomes = [];
    for (var i = 0; i < policy.witnesses.length; i++) {
      var w = policy.witnesses[i];
      var outcome = { name: w.name, signed: false, time: null, why: 'no cosignature' };
      var lines = note.sigs.filter(function (s) { return owns(w.key, s); });
      for (var j = 0; j < lines.length; j++) {
        var checked = await checkCosignature(w.key, note.body, lines[j].sig);
        if (checked.error) {
          outcome.why = checked.error;
        } else if (checked.time > limit) {
          outcome.why = 'timestamp ' + checked.time + ' is in the future';
        } else {
          outcome = { name: w.name, signed: true, time: checked.time, why: null };
          break;
        }
      }
      outcomes.push(outcome);
    }
    var signed = outcomes.map(function (o) { return o.signed; });
    var unknown = note.sigs.filter(function (s) {
      return !policy.logs.some(function (l) { return owns(l.key, s); }) &&
        !policy.witnesses.some(function (w) { return owns(w.key, s); });
    }).map(function (s) { return s.name; });
    var names = function (keep) {
      return outcomes.filter(function (o) { return o.signed === keep; }).map(function (o) { return o.name; });
    };
    return {
      witnesses: outcomes,
      signed: names(true),
      unsigned: names(false),
      unknown: unknown,
      quorumMet: policy.quorum === null ? true : witnessed(policy, policy.quorum, signed)
    };
  }

  // ------------------------------------------------- tlog-proof (tlog_proof.rs)

  /*
   * Parses c2sp.org/tlog-proof@v1 exactly as tlog_proof.rs TlogProof::parse: the header line,
   * an optional "extra <base64>" line, "index <decimal>", base64 SHA-256 path lines, a blank
   * line, then the checkpoint note verbatim. Returns {proof: {extra, index, path, checkpoint}}
   * (extra null when absent, index a BigInt) or {fatal}.
   */
  function parseTlogProof(text) {
    if (text.length > MAX_RECEIPT_CHARS) return { fatal: 'the proof is too large' };
    if (text.slice(0, PROOF_HEADER.length + 1) !== PROOF_HEADER + '\n') {
      return { fatal: 'the first line is not `' + PROOF_HEADER + '`' };
    }
    var rest = text.slice(PROOF_HEADER.length + 1);
    function nextLine() {
      var end = rest.indexOf('\n');
      if (end < 0) return null;
      var line = rest.slice(0, end);
      rest = rest.slice(end + 1);
      return line;
    }
    var badIndex = { fatal: 'the index line is missing or not a decimal without leading zeroes' };
    var line = nextLine();
    if (line === null) return badIndex;
    var extra = null;
    if (line.slice(0, 6) === 'extra ') {
      extra = b64ToBytes(line.slice(6));
      if (!extra) return { fatal: 'the extra line is not base64' };
      line = nextLine();
      if (line === null) return badIndex;
    }
    var m = /^index (0|[1-9][0-9]*)$/.exec(line);
    if (!m || BigInt(m[1]) > MAX_INDEX) return badIndex;
    var path = [];
    for (;;) {
      line = nextLine();
      if (line === null) return { fatal: 'no blank line and checkpoint after the inclusion proof' };
      if (line.length === 0) break;
      var hash = path.length < MAX_PATH_LEN ? b64ToBytes(line) : null;
      if (!hash || hash.length !== 32) {
        return { fatal: 'an inclusion proof line is not a base64 SHA-256 hash' };
      }
      path.push(hash);
    }
    if (rest.length === 0) return { fatal: 'no blank line and checkpoint after the inclusion proof' };
    return { proof: { extra: extra, index: BigInt(m[1]), path: path, checkpoint: rest } };
  }

  /* Whether pasted text is a tlog proof; a byte-order mark and leading blank lines are ignored. */
  function proofText(text) {
    if (typeof text !== 'string') return null;
    var t = text.replace(/^\uFEFF/, '').replace(/^\s+/, '');
    return t.slice(0, PROOF_HEADER.length) === PROOF_HEADER ? t : null;
  }

  // ------------------------------------------------------------- parsing

  function checkHex(obj, name, problems) {
    var v = obj[name];
    if (typeof v !== 'string') {
      problems.push(name + ' is ' + (v === undefined ? 'missing' : 'not a string'));
      return null;
    }
    if (!HEX64_RE.test(v)) {
      problems.push(name + ' is not exactly 64 hex characters');
      return null;
    }
    return hexToBytes(v);
  }

  function checkIndex(obj, name, problems) {
    var v = obj[name];
    if (v === undefined) { problems.push(name + ' is missing'); return null; }
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      problems.push(name + ' is not a non-negative integer below 2^53');
      return null;
    }
    return v;
  }

  /*
   * Returns {fatal, problems, fields}. fatal: not a v1 receipt at all.
   * fields holds each field that was well formed (others are undefined).
   */
  function parseReceipt(text) {
    var problems = [];
    var f = {};
    if (typeof text !== 'string' || text.trim().length === 0) {
      return { fatal: 'no receipt was provided', problems: problems, fields: f };
    }
    if (text.length > MAX_RECEIPT_CHARS) {
      return { fatal: 'receipt is too large', problems: problems, fields: f };
    }
    var obj;
    try {
      obj = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (e) {
      return { fatal: 'receipt is not valid JSON (' + errText(e) + ')', problems: problems, fields: f };
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      return { fatal: 'receipt is not a JSON object', problems: problems, fields: f };
    }
    if (obj.version !== 1) {
      return {
        fatal: 'unsupported receipt version ' + JSON.stringify(obj.version === undefined ? null : obj.version) +
          ' (expected 1)', problems: problems, fields: f
      };
    }

    if (typeof obj.entry !== 'string') {
      problems.push('entry is ' + (obj.entry === undefined ? 'missing' : 'not a string'));
    } else if (obj.entry.length === 0) {
      problems.push('entry is empty');
    } else if (!isWellFormedString(obj.entry)) {
      problems.push('entry is not valid UTF-8 text');
    } else {
      f.entry = obj.entry;
    }

    var tx = checkHex(obj, 'tx_hash', problems);
    if (tx) f.txHash = tx;
    var root = checkHex(obj, 'root_hash', problems);
    if (root) f.rootHash = root;

    var li = checkIndex(obj, 'leaf_index', problems);
    var ts = checkIndex(obj, 'tree_size', problems);
    if (ts !== null && ts < 1) { problems.push('tree_size must be at least 1'); ts = null; }
    if (ts !== null) f.treeSize = ts;
    if (li !== null && ts !== null && li >= ts) {
      problems.push('leaf_index (' + li + ') is not smaller than tree_size (' + ts + ')');
    } else if (li !== null && ts !== null) {
      f.leafIndex = li;
    }

    var ip = obj.inclusion_path;
    if (!Array.isArray(ip)) {
      problems.push('inclusion_path is ' + (ip === undefined ? 'missing' : 'not an array'));
    } else if (ip.length > MAX_PATH_LEN) {
      problems.push('inclusion_path has more than ' + MAX_PATH_LEN + ' hashes');
    } else {
      var path = [];
      for (var i = 0; i < ip.length; i++) {
        if (typeof ip[i] !== 'string' || !HEX64_RE.test(ip[i])) {
          problems.push('inclusion_path[' + i + '] is not exactly 64 hex characters');
          path = null;
          break;
        }
        path.push(hexToBytes(ip[i]));
      }
      if (path) f.path = path;
    }

    if (typeof obj.checkpoint !== 'string') {
      problems.push('checkpoint is ' + (obj.checkpoint === undefined ? 'missing' : 'not a string'));
    } else {
      f.checkpoint = obj.checkpoint;
    }

    // Optional party fields (null is treated as absent).
    var hasSalt = obj.party_salt !== undefined && obj.party_salt !== null;
    var hasId = obj.party_id !== undefined && obj.party_id !== null;
    f.partyPresent = hasSalt;
    if (hasSalt) {
      var salt = checkHex(obj, 'party_salt', problems);
      var pid = obj.party_id;
      var pidOk = false;
      if (!hasId) {
        problems.push('party_salt is present but party_id is missing');
      } else if (typeof pid !== 'string' || pid.length === 0) {
        problems.push('party_id is not a non-empty string');
      } else if (!isWellFormedString(pid)) {
        problems.push('party_id is not valid UTF-8 text');
      } else {
        pidOk = true;
      }
      if (salt && pidOk) {
        f.partySalt = salt;
        f.partyId = pid;
      }
    } else if (hasId) {
      problems.push('party_id is present without party_salt');
    }
    return { fatal: null, problems: problems, fields: f };
  }

  /* Finds a string value equal (case-insensitively) to hex anywhere in v. */
  function findStringValue(v, hex) {
    var want = hex.toLowerCase();
    var stack = [[v, '$']];
    var visited = 0;
    while (stack.length) {
      var top = stack.pop();
      var cur = top[0], where = top[1];
      if (++visited > 1000000) return null;
      if (typeof cur === 'string') {
        if (cur.length === want.length && cur.toLowerCase() === want) return where;
      } else if (Array.isArray(cur)) {
        for (var i = cur.length - 1; i >= 0; i--) stack.push([cur[i], where + '[' + i + ']']);
      } else if (cur !== null && typeof cur === 'object') {
        var keys = Object.keys(cur);
        for (var k = keys.length - 1; k >= 0; k--) {
          var key = keys[k];
          var seg = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? '.' + key : '[' + JSON.stringify(key) + ']';
          stack.push([cur[key], where + seg]);
        }
      }
    }
    return null;
  }

  // ------------------------------------------------------------- verify

  /* A step recorder: each step's result by id, and the helpers that set it. */
  function newSteps() {
    var results = {};
    var steps = {
      results: results,
      pass: function (id, detail, args, text) {
        results[id] = { id: id, ok: true, detail: detail, kind: null, args: args || {}, text: text || null };
      },
      failed: function (id, kind, detail, text, args) {
        results[id] = { id: id, ok: false, detail: detail, kind: kind, args: args || {}, text: text || null };
      },
      na: function (id, detail, text) {
        results[id] = { id: id, ok: null, detail: detail, kind: null, args: {}, text: text || null };
      },
      dep: function (id, what) { steps.failed(id, K_DEPENDENCY, 'not checked: ' + what); },
      run: async function (id, fn) {
        try {
          await fn();
        } catch (e) {
          if (e instanceof VerifyError) steps.failed(id, e.kind, e.message, e.text, e.args);
          else steps.failed(id, K_ERROR, 'unexpected error: ' + errText(e));
        }
        if (!results[id]) steps.failed(id, K_ERROR, 'step produced no result');
      }
    };
    return steps;
  }

  /*
   * What the verifier trusts: null for the verifier key alone (an empty policy box), else
   * {policy} or {error} (the VerifyError that refused the policy).
   */
  async function readTrust(policyText) {
    if (typeof policyText !== 'string' || policyText.trim().length === 0) return null;
    try {
      return { policy: await parsePolicy(policyText) };
    } catch (e) {
      if (e instanceof VerifyError) return { error: e };
      return { error: new VerifyError(K_ERROR, 'unexpected error: ' + errText(e)) };
    }
  }

  /*
   * Step "signature": the log's Ed25519 signature on the checkpoint note. The key is the policy's
   * log whose key name is the checkpoint's origin (policy.rs evaluate), or the verifier key when
   * there is no policy.
   */
  async function checkSignature(steps, note, keyText, trust) {
    await steps.run('signature', async function () {
      if (!note) return steps.dep('signature', 'the checkpoint note could not be read');
      var key;
      if (trust) {
        if (trust.error) throw trust.error;
        var origin = parseCheckpointBody(note.body).origin;
        var log = trust.policy.logs.filter(function (l) { return l.key.name === origin; })[0];
        if (!log) fail(K_MISMATCH, 'no log of the trust policy has origin "' + origin + '"');
        key = log.key;
      } else {
        key = await parseVerifierKey(keyText);
      }
      var matches = note.sigs.filter(function (s) { return owns(key, s); });
      var idHex = bytesToHex(key.keyId);
      if (matches.length === 0) {
        fail(K_MISMATCH, 'checkpoint has no signature by the ledger key ' + key.name + ' (id ' + idHex + ')');
      }
      if (matches.length > 1) fail(K_MISMATCH, 'checkpoint has repeated signatures by the ledger key');
      var sig = matches[0].sig;
      if (sig.length !== 64) fail(K_MISMATCH, 'checkpoint signature has the wrong length for Ed25519');
      var ok = await ed25519Verify(key.pub, sig, utf8.encode(note.body));
      if (!ok) fail(K_MISMATCH, 'Ed25519 signature by ' + key.name + ' does not verify');
      steps.pass('signature', 'valid Ed25519 signature by ' + key.name + ' (key id ' + idHex + ')',
        { name: key.name, id: idHex });
    });
  }

  /*
   * Step "quorum": with a policy, the valid cosignatures of its witnesses must meet its quorum.
   * The detail names the witnesses that signed and those that did not.
   */
  async function checkQuorum(steps, note, checkpoint, trust, now) {
    await steps.run('quorum', async function () {
      if (!trust) {
        return steps.na('quorum', 'no trust policy was given, so cosignatures were not checked',
          'detail_na_quorum');
      }
      if (trust.error) return steps.dep('quorum', 'the trust policy could not be read');
      if (!note || !checkpoint) return steps.dep('quorum', 'the checkpoint could not be read');
      var ev = await evaluateWitnesses(trust.policy, note, now);
      var list = function (names) { return names.length ? names.join(', ') : 'none'; };
      var args = { signed: ev.signed, unsigned: ev.unsigned };
      var reasons = ev.witnesses.filter(function (w) { return !w.signed; })
        .map(function (w) { return w.name + ': ' + w.why; });
      var ignored = ev.unknown.filter(function (n) { return n !== checkpoint.origin; });
      var detail = 'signed: ' + list(ev.signed) + '; not signed: ' + list(ev.unsigned) +
        (reasons.length ? ' (' + reasons.join('; ') + ')' : '') +
        (ignored.length ? '; not in the policy, ignored: ' + ignored.join(', ') : '');
      if (!ev.quorumMet) {
        // The sentence names who signed and who did not; the detail says why each did not count.
        fail(K_QUORUM, 'quorum NOT met' + (reasons.length ? ': ' + reasons.join('; ') : '') +
          (ignored.length ? '; not in the policy, ignored: ' + ignored.join(', ') : ''), null, args);
      }
      if (trust.policy.quorum === null) {
        return steps.pass('quorum', 'quorum none: no cosignature is required; ' + detail, args,
          'detail_quorum_none');
      }
      steps.pass('quorum', 'quorum met; ' + detail, args);
    });
  }

  /* The steps of a JSON receipt. */
  async function verifyJsonReceipt(steps, receiptText, keyText, trust, now) {
    // 1. parse
    var parsed = parseReceipt(receiptText);
    var f = parsed.fields;
    if (parsed.fatal) {
      steps.failed('parse', K_FORMAT, parsed.fatal);
      STEP_IDS.slice(1).forEach(function (id) { steps.dep(id, 'the receipt could not be read'); });
      return;
    }
    if (parsed.problems.length) {
      steps.failed('parse', K_MISMATCH, parsed.problems.join('; '));
    } else {
      steps.pass('parse', 'receipt version 1, leaf ' + f.leafIndex + ' of ' + f.treeSize +
        ', ' + f.path.length + ' proof hashes',
        { leaf: f.leafIndex, size: f.treeSize, hashes: f.path.length });
    }

    var computedTx = null, computedLeaf = null;

    // 2. tx_hash
    await steps.run('tx_hash', async function () {
      if (f.entry === undefined || !f.txHash) return steps.dep('tx_hash', 'entry or tx_hash is malformed');
      computedTx = await sha256(utf8.encode(f.entry));
      if (!bytesEqual(computedTx, f.txHash)) {
        computedTx = null;
        fail(K_MISMATCH, 'SHA-256 of the entry does not match tx_hash');
      }
      steps.pass('tx_hash', 'SHA-256(entry) = ' + bytesToHex(f.txHash), { hash: bytesToHex(f.txHash) });
    });

    // 3. leaf hash (of the verified tx_hash)
    await steps.run('leaf_hash', async function () {
      if (!computedTx) return steps.dep('leaf_hash', 'the transaction hash step failed');
      computedLeaf = await leafHash(computedTx);
      steps.pass('leaf_hash', 'leaf hash = ' + bytesToHex(computedLeaf), { hash: bytesToHex(computedLeaf) });
    });

    // 4. inclusion
    await steps.run('inclusion', async function () {
      if (!computedLeaf) return steps.dep('inclusion', 'the leaf hash step failed');
      if (f.leafIndex === undefined || !f.path || !f.rootHash) {
        return steps.dep('inclusion', 'leaf_index, tree_size, inclusion_path or root_hash is malformed');
      }
      var res = await rootFromInclusionProof(f.leafIndex, f.treeSize, computedLeaf, f.path);
      if (res.error) fail(K_MISMATCH, res.error);
      if (!bytesEqual(res.root, f.rootHash)) {
        fail(K_MISMATCH, 'inclusion path leads to root ' + short(bytesToHex(res.root)) +
          ', not to root_hash ' + short(bytesToHex(f.rootHash)));
      }
      steps.pass('inclusion', 'leaf ' + f.leafIndex + ' is in the tree of size ' + f.treeSize +
        ' with root ' + bytesToHex(f.rootHash),
        { leaf: f.leafIndex, size: f.treeSize, root: bytesToHex(f.rootHash) });
    });

    // 5. checkpoint (independent of the entry)
    var note = null, cp = null;
    await steps.run('checkpoint', async function () {
      if (f.checkpoint === undefined) return steps.dep('checkpoint', 'checkpoint is missing or malformed');
      note = parseNote(f.checkpoint);
      cp = parseCheckpointBody(note.body);
      if (f.treeSize === undefined || !f.rootHash) {
        return steps.dep('checkpoint', 'tree_size or root_hash is malformed');
      }
      if (cp.size !== BigInt(f.treeSize)) {
        fail(K_MISMATCH, 'checkpoint is for tree size ' + cp.size + ', receipt says ' + f.treeSize);
      }
      if (!bytesEqual(cp.root, f.rootHash)) {
        fail(K_MISMATCH, 'checkpoint root ' + short(bytesToHex(cp.root)) + ' differs from root_hash ' +
          short(bytesToHex(f.rootHash)));
      }
      steps.pass('checkpoint', 'checkpoint of "' + cp.origin + '" for tree size ' + cp.size + ' names this root',
        { origin: cp.origin, size: String(cp.size) });
    });

    // 6. signature and 7. quorum (independent of the entry and of step 5's comparisons)
    await checkSignature(steps, note, keyText, trust);
    await checkQuorum(steps, note, cp, trust, now);

    // 8. party commitment (optional)
    await steps.run('party', async function () {
      if (!f.partyPresent) return steps.na('party', 'no party salt in this receipt');
      if (!f.partySalt) return steps.dep('party', 'party_salt or party_id is malformed');
      if (f.entry === undefined) return steps.dep('party', 'entry is malformed');
      var entryObj;
      try {
        entryObj = JSON.parse(f.entry);
      } catch (e) {
        fail(K_MISMATCH, 'entry is not valid JSON, so the party commitment cannot be found');
      }
      var commitment = bytesToHex(await sha256(concatBytes(utf8.encode(PARTY_DOMAIN), f.partySalt,
        utf8.encode(f.partyId))));
      var where = findStringValue(entryObj, commitment);
      if (where === null) {
        fail(K_MISMATCH, 'party commitment ' + short(commitment) + ' for party ' + f.partyId +
          ' does not appear in the entry');
      }
      steps.pass('party', 'party ' + f.partyId + ' commitment ' + commitment + ' found at ' + where,
        { party: f.partyId, commitment: commitment });
    });
  }

  /*
   * The steps of a tlog proof, as tlog_proof.rs TlogProof::verify: the leaf input is
   * SHA-256(extra), and the checkpoint is the source of the tree size and root the inclusion
   * proof must reach. A proof names no party.
   */
  async function verifyTlogProof(steps, text, keyText, trust, now) {
    var parsed = parseTlogProof(text);
    if (parsed.fatal) {
      steps.failed('parse', K_FORMAT, parsed.fatal);
      STEP_IDS.slice(1).forEach(function (id) { steps.dep(id, 'the proof could not be read'); });
      return;
    }
    var proof = parsed.proof;
    steps.pass('parse', 'tlog-proof v1, leaf ' + proof.index + ', ' + proof.path.length + ' proof hashes' +
      (proof.extra ? ', entry on the extra line' : ', no extra line'),
      { leaf: String(proof.index), hashes: proof.path.length }, 'detail_parse_proof');

    var computedTx = null, computedLeaf = null;

    await steps.run('tx_hash', async function () {
      if (!proof.extra) {
        fail(K_NO_ENTRY, 'the proof has no extra line, so the entry is not in it');
      }
      computedTx = await sha256(proof.extra);
      steps.pass('tx_hash', 'SHA-256(extra) = ' + bytesToHex(computedTx), { hash: bytesToHex(computedTx) });
    });

    await steps.run('leaf_hash', async function () {
      if (!computedTx) return steps.dep('leaf_hash', 'the proof carries no entry');
      computedLeaf = await leafHash(computedTx);
      steps.pass('leaf_hash', 'leaf hash = ' + bytesToHex(computedLeaf), { hash: bytesToHex(computedLeaf) });
    });

    // The checkpoint first: the inclusion proof is checked against its size and root.
    var note = null, cp = null;
    await steps.run('checkpoint', async function () {
      note = parseNote(proof.checkpoint);
      cp = parseCheckpointBody(note.body);
      steps.pass('checkpoint', 'checkpoint of "' + cp.origin + '" for tree size ' + cp.size +
        ' with root ' + bytesToHex(cp.root),
        { origin: cp.origin, size: String(cp.size), root: bytesToHex(cp.root) }, 'detail_checkpoint_proof');
    });

    await steps.run('inclusion', async function () {
      if (!computedLeaf) return steps.dep('inclusion', 'the leaf hash step failed');
      if (!cp) return steps.dep('inclusion', 'the checkpoint could not be read');
      var res = await rootFromInclusionProof(proof.index, cp.size, computedLeaf, proof.path);
      if (res.error) fail(K_MISMATCH, res.error);
      if (!bytesEqual(res.root, cp.root)) {
        fail(K_MISMATCH, 'inclusion path leads to root ' + short(bytesToHex(res.root)) +
          ', not to the checkpoint root ' + short(bytesToHex(cp.root)));
      }
      steps.pass('inclusion', 'leaf ' + proof.index + ' is in the tree of size ' + cp.size +
        ' with root ' + bytesToHex(cp.root),
        { leaf: String(proof.index), size: String(cp.size), root: bytesToHex(cp.root) });
    });

    await checkSignature(steps, note, keyText, trust);
    await checkQuorum(steps, note, cp, trust, now);
    steps.na('party', 'an offline proof names no party', 'detail_na_proof');
  }

  async function verifyReceiptInner(receiptText, keyText, policyText, now) {
    var steps = newSteps();
    var trust = await readTrust(policyText);
    var proof = proofText(receiptText);
    if (proof !== null) {
      await verifyTlogProof(steps, proof, keyText, trust, now);
    } else {
      await verifyJsonReceipt(steps, receiptText, keyText, trust, now);
    }
    return finish(steps.results);
  }

  function finish(results) {
    var steps = STEP_IDS.map(function (id) {
      return results[id] || { id: id, ok: false, detail: 'not checked', kind: K_ERROR, args: {}, text: null };
    });
    var valid = steps.every(function (s) { return s.ok === true || (s.ok === null && OPTIONAL_STEPS[s.id]); });
    var tampered = !valid && steps.some(function (s) { return s.ok === false && s.kind === K_MISMATCH; });
    var firstFail = null;
    for (var i = 0; i < steps.length; i++) {
      if (steps[i].ok === false && steps[i].kind !== K_DEPENDENCY) { firstFail = steps[i]; break; }
    }
    var message = valid ? DEFAULT_TEXT.valid :
      tampered ? DEFAULT_TEXT.tampered :
        DEFAULT_TEXT.invalid + (firstFail ? ' (' + firstFail.detail + ')' : '');
    return { valid: valid, tampered: tampered, message: message, steps: steps };
  }

  async function verifyReceipt(receiptText, keyText, policyText, now) {
    var at = typeof now === 'number' ? now : Math.floor(Date.now() / 1000);
    try {
      return await verifyReceiptInner(receiptText, keyText, policyText, at);
    } catch (e) {
      var steps = STEP_IDS.map(function (id) {
        return { id: id, ok: false, detail: 'unexpected error: ' + errText(e), kind: K_ERROR, args: {}, text: null };
      });
      return {
        valid: false, tampered: false, steps: steps,
        message: DEFAULT_TEXT.invalid + ' (unexpected error: ' + errText(e) + ')'
      };
    }
  }

  // ---------------------------------------------------------------- DOM

  function label(el, key, fallback) {
    var v = el && el.dataset ? el.dataset[key] : undefined;
    return typeof v === 'string' && v.trim().length ? v : fallback;
  }

  // The page's strings (see the header); an unreadable block leaves the English fallbacks.
  function pageText() {
    var el = document.getElementById('verify-text');
    if (!el) return {};
    try {
      var t = JSON.parse(el.textContent || '{}');
      return t && typeof t === 'object' ? t : {};
    } catch (_) {
      return {};
    }
  }

  // Fills {placeholders}; a list of names reads "a, b", an empty one the page's word for none.
  function fillText(template, args, text) {
    return template.replace(/\{([a-z_]+)\}/g, function (whole, name) {
      var v = args ? args[name] : undefined;
      if (v === undefined) return whole;
      if (Array.isArray(v)) {
        return v.length ? v.join(', ') : (typeof text.list_none === 'string' ? text.list_none : DEFAULT_TEXT.list_none);
      }
      return String(v);
    });
  }

  // A step's detail in the page's language. The English technical detail is added to a failure
  // on English pages, unless the step has its own sentence, which already says it all.
  function stepDetail(text, s) {
    var english = (document.documentElement.lang || '').toLowerCase().indexOf('en') === 0;
    var key = s.text || (s.ok === true ? 'detail_' + s.id : s.ok === null ? 'detail_na' : 'fail_' + (s.kind || K_ERROR));
    var sentence = text[key];
    if (typeof sentence !== 'string') return s.detail;
    sentence = fillText(sentence, s.args, text);
    return english && s.detail && s.ok === false && !s.text ? sentence + ' (' + s.detail + ')' : sentence;
  }

  function init() {
    var form = document.getElementById('verify-form');
    var input = document.getElementById('receipt-input');
    var fileInput = document.getElementById('receipt-file');
    var keyInput = document.getElementById('key-input');
    var policyInput = document.getElementById('policy-input');
    var stepsEl = document.getElementById('verify-steps');
    var resultEl = document.getElementById('verify-result');
    var button = document.getElementById('verify-button');
    if (!form || !input) return;

    var runId = 0;
    var text = pageText();

    function setResult(cls, text) {
      if (!resultEl) return;
      resultEl.classList.remove('valid', 'invalid', 'tampered', 'working');
      if (cls) cls.split(' ').forEach(function (c) { resultEl.classList.add(c); });
      resultEl.textContent = text;
    }

    function render(res) {
      if (stepsEl) {
        var items = res.steps.map(function (s) {
          var spec = STEP_LABELS[s.id] || [null, s.id];
          var cls = s.ok === true ? 'pass' : s.ok === false ? 'fail' : 'na';
          var li = document.createElement('li');
          li.className = cls;
          li.dataset.step = s.id;
          var name = document.createElement('span');
          name.className = 'step-label';
          name.textContent = spec[0] ? label(stepsEl, spec[0], spec[1]) : spec[1];
          var status = document.createElement('span');
          status.className = 'step-status';
          status.textContent = label(stepsEl, cls, DEFAULT_TEXT[cls]);
          var detail = document.createElement('span');
          detail.className = 'step-detail';
          var said = stepDetail(text, s);
          detail.textContent = said || '';
          li.appendChild(name);
          li.appendChild(document.createTextNode(': '));
          li.appendChild(status);
          if (said) {
            li.appendChild(document.createTextNode(' \u2014 '));
            li.appendChild(detail);
          }
          return li;
        });
        stepsEl.replaceChildren.apply(stepsEl, items);
      }
      if (res.valid) {
        setResult('valid', label(stepsEl, 'valid', DEFAULT_TEXT.valid));
      } else if (res.tampered) {
        setResult('invalid tampered', label(stepsEl, 'tampered', DEFAULT_TEXT.tampered));
      } else {
        var first = null;
        for (var i = 0; i < res.steps.length; i++) {
          if (res.steps[i].ok === false && res.steps[i].kind !== K_DEPENDENCY) { first = res.steps[i]; break; }
        }
        var base = label(stepsEl, 'invalid', DEFAULT_TEXT.invalid);
        setResult('invalid', first ? base + ' (' + stepDetail(text, first) + ')' : base);
      }
    }

    async function runVerification() {
      var my = ++runId;
      try {
        if (button) button.disabled = true;
        if (stepsEl) {
          stepsEl.setAttribute('aria-busy', 'true');
          stepsEl.replaceChildren();
        }
        setResult('working', label(stepsEl, 'working', DEFAULT_TEXT.working));
        var res = await verifyReceipt(input.value, keyInput ? keyInput.value : '',
          policyInput ? policyInput.value : '');
        if (my !== runId) return;
        render(res);
      } catch (e) {
        if (my !== runId) return;
        if (stepsEl) stepsEl.replaceChildren();
        setResult('invalid', label(stepsEl, 'invalid', DEFAULT_TEXT.invalid) + ' (' +
          (text.fail_error || errText(e)) + ')');
      } finally {
        if (my === runId) {
          if (button) button.disabled = false;
          if (stepsEl) stepsEl.removeAttribute('aria-busy');
        }
      }
    }

    function readFile(file) {
      if (typeof file.text === 'function') return file.text();
      return new Promise(function (resolve, reject) {
        var r = new FileReader();
        r.onload = function () { resolve(String(r.result)); };
        r.onerror = function () { reject(r.error); };
        r.readAsText(file);
      });
    }

    async function loadFile(file) {
      try {
        if (file.size > MAX_RECEIPT_CHARS * 4) {
          if (stepsEl) stepsEl.replaceChildren();
          setResult('invalid', label(stepsEl, 'invalid', DEFAULT_TEXT.invalid) + ' (' +
            (text.file_too_large || 'the file is too large to be a receipt') + ')');
          return;
        }
        input.value = await readFile(file);
        await runVerification();
      } catch (e) {
        setResult('invalid', label(stepsEl, 'invalid', DEFAULT_TEXT.invalid) + ' (' +
          (text.file_unreadable || 'the file could not be read: ' + errText(e)) + ')');
      }
    }

    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      runVerification();
    });

    if (fileInput) {
      fileInput.addEventListener('change', function () {
        var file = fileInput.files && fileInput.files[0];
        if (file) loadFile(file);
      });
    }

    function onDragOver(ev) {
      ev.preventDefault();
      if (ev.dataTransfer) ev.dataTransfer.dropEffect = 'copy';
      input.classList.add('dragover');
    }
    function onDragLeave(ev) {
      if (!ev.relatedTarget || !form.contains(ev.relatedTarget)) input.classList.remove('dragover');
    }
    function onDrop(ev) {
      ev.preventDefault();
      ev.stopPropagation();
      input.classList.remove('dragover');
      var dt = ev.dataTransfer;
      if (!dt) return;
      if (dt.files && dt.files.length > 0) {
        loadFile(dt.files[0]);
        return;
      }
      var text = dt.getData('application/json') || dt.getData('text/plain') || dt.getData('text');
      if (text) {
        input.value = text;
        runVerification();
      }
    }
    var targets = [form];
    if (!form.contains(input)) targets.push(input);
    targets.forEach(function (t) {
      t.addEventListener('dragenter', onDragOver);
      t.addEventListener('dragover', onDragOver);
      t.addEventListener('dragleave', onDragLeave);
      t.addEventListener('drop', onDrop);
    });
  }

  window.ZhonglianVerify = Object.freeze({
    verifyReceipt: verifyReceipt,
    // Pure helpers, exposed for tests.
    _internal: Object.freeze({
      rootFromInclusionProof: rootFromInclusionProof,
      parseNote: parseNote,
      parseCheckpointBody: parseCheckpointBody,
      parseVerifierKey: parseVerifierKey,
      parseVkey: parseVkey,
      parsePolicy: parsePolicy,
      evaluateWitnesses: evaluateWitnesses,
      cosignedMessage: cosignedMessage,
      parseTlogProof: parseTlogProof,
      parseReceipt: parseReceipt,
      hexToBytes: hexToBytes,
      bytesToHex: bytesToHex
    })
  });

  if (typeof document !== 'undefined') {
    if (document.readyState === 'loading') {
      document.addEventListener('DOMContentLoaded', init);
    } else {
      init();
    }
  }
})();
