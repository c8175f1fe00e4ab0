/*
 * Zhonglian receipt verifier (runs entirely in the browser).
 *
 * Checks a version-1 receipt against the public ledger's verifier key:
 *   1. parse       receipt JSON shape and field formats
 *   2. tx_hash     SHA-256(UTF-8 entry) == tx_hash
 *   3. leaf_hash   RFC 9162 leaf hash SHA-256(0x00 || tx_hash)
 *   4. inclusion   RFC 9162 §2.1.3.2 inclusion proof recomputes root_hash
 *   5. checkpoint  signed-note checkpoint names tree_size and root_hash
 *   6. signature   Ed25519 signature on the checkpoint by the verifier key
 *   7. party       (optional) salted party commitment appears in the entry
 *
 * No libraries, no network, no eval, no innerHTML. Only WebCrypto is used.
 * Public API: window.ZhonglianVerify.verifyReceipt(receiptText, keyText)
 *   -> Promise<{valid, tampered, message, steps: [{id, ok, detail, kind, args}]}>
 *   ok is true (pass), false (fail) or null (not applicable); detail is the technical text in
 *   English, args the values a translated sentence names.
 *
 * Every text the page shows comes from the page's language: the server writes the catalogue's
 * strings into <script type="application/json" id="verify-text"> (no inline script runs under
 * the CSP). A passed step reads "detail_<step>" with {placeholders} filled from args; a failed
 * one reads "fail_<kind>" (the English technical detail is added only on English pages).
 */
(function () {
  'use strict';

  var MAX_RECEIPT_CHARS = 1024 * 1024;   // receipts are a few KiB
  var MAX_PATH_LEN = 64;                 // RFC 9162: at most 64 hashes
  var MAX_SIG_LINES = 100;               // as in the Go signed-note code
  var PARTY_DOMAIN = 'zhonglian/party/v1';

  var STEP_IDS = ['parse', 'tx_hash', 'leaf_hash', 'inclusion', 'checkpoint', 'signature', 'party'];

  // [step id, dataset key on #verify-steps, English fallback]
  var STEP_LABELS = {
    parse: ['stepParse', 'Receipt format'],
    tx_hash: ['stepTxHash', 'Transaction hash matches the entry'],
    leaf_hash: ['stepLeafHash', 'Merkle leaf hash'],
    inclusion: ['stepInclusion', 'Inclusion proof leads to the ledger root'],
    checkpoint: ['stepCheckpoint', 'Checkpoint matches tree size and root'],
    signature: ['stepSignature', 'Checkpoint signed by the ledger key'],
    party: ['stepParty', 'Your party commitment is in the entry']
  };

  var DEFAULT_TEXT = {
    valid: 'valid: this receipt is included in the ledger and its checkpoint is signed by the ledger key',
    invalid: 'invalid: this receipt could not be verified',
    tampered: 'invalid: this receipt has been tampered with or does not belong to this ledger',
    pass: 'passed',
    fail: 'failed',
    na: 'not applicable',
    working: 'verifying…'
  };

  // Failure kinds. Only "mismatch" means the receipt was altered / is foreign.
  var K_MISMATCH = 'mismatch';     // hash, proof, checkpoint or signature mismatch
  var K_FORMAT = 'format';         // not a receipt at all (bad JSON, wrong version, empty)
  var K_DEPENDENCY = 'dependency'; // not checked because an earlier step failed
  var K_KEY = 'key';               // verifier key missing or malformed
  var K_UNSUPPORTED = 'unsupported'; // browser lacks WebCrypto / Ed25519
  var K_ERROR = 'error';           // unexpected exception

  // ---------------------------------------------------------------- helpers

  function VerifyError(kind, message) {
    this.kind = kind;
    this.message = message;
  }

  function fail(kind, message) {
    throw new VerifyError(kind, message);
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

  /* Parses "<name>+<8 hex key id>+<base64(0x01 || 32-byte Ed25519 key)>". */
  async function parseVerifierKey(text) {
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
    if (raw.length !== 33 || raw[0] !== 0x01) {
      fail(K_KEY, 'verifier key is not an Ed25519 key (expected 0x01 followed by 32 bytes)');
    }
    var pub = raw.slice(1);
    var keyId = hexToBytes(idHex);
    var computed = (await sha256(concatBytes(utf8.encode(name), new Uint8Array([0x0A, 0x01]), pub))).slice(0, 4);
    if (!bytesEqual(computed, keyId)) {
      fail(K_KEY, 'verifier key id ' + idHex.toLowerCase() + ' does not match its key (expected ' +
        bytesToHex(computed) + ')');
    }
    return { name: name, keyId: keyId, pub: pub };
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

  async function verifyReceiptInner(receiptText, keyText) {
    var results = {};
    function pass(id, detail, args) {
      results[id] = { id: id, ok: true, detail: detail, kind: null, args: args || {} };
    }
    function failed(id, kind, detail) { results[id] = { id: id, ok: false, detail: detail, kind: kind }; }
    function dep(id, what) { failed(id, K_DEPENDENCY, 'not checked: ' + what); }
    async function run(id, fn) {
      try {
        await fn();
      } catch (e) {
        if (e instanceof VerifyError) failed(id, e.kind, e.message);
        else failed(id, K_ERROR, 'unexpected error: ' + errText(e));
      }
      if (!results[id]) failed(id, K_ERROR, 'step produced no result');
    }

    // 1. parse
    var parsed = parseReceipt(receiptText);
    var f = parsed.fields;
    if (parsed.fatal) {
      failed('parse', K_FORMAT, parsed.fatal);
      STEP_IDS.slice(1).forEach(function (id) { dep(id, 'the receipt could not be read'); });
      return finish(results);
    }
    if (parsed.problems.length) {
      failed('parse', K_MISMATCH, parsed.problems.join('; '));
    } else {
      pass('parse', 'receipt version 1, leaf ' + f.leafIndex + ' of ' + f.treeSize +
        ', ' + f.path.length + ' proof hashes',
        { leaf: f.leafIndex, size: f.treeSize, hashes: f.path.length });
    }

    var computedTx = null, computedLeaf = null;

    // 2. tx_hash
    await run('tx_hash', async function () {
      if (f.entry === undefined || !f.txHash) return dep('tx_hash', 'entry or tx_hash is malformed');
      computedTx = await sha256(utf8.encode(f.entry));
      if (!bytesEqual(computedTx, f.txHash)) {
        computedTx = null;
        fail(K_MISMATCH, 'SHA-256 of the entry does not match tx_hash');
      }
      pass('tx_hash', 'SHA-256(entry) = ' + bytesToHex(f.txHash), { hash: bytesToHex(f.txHash) });
    });

    // 3. leaf hash (of the verified tx_hash)
    await run('leaf_hash', async function () {
      if (!computedTx) return dep('leaf_hash', 'the transaction hash step failed');
      computedLeaf = await leafHash(computedTx);
      pass('leaf_hash', 'leaf hash = ' + bytesToHex(computedLeaf), { hash: bytesToHex(computedLeaf) });
    });

    // 4. inclusion
    await run('inclusion', async function () {
      if (!computedLeaf) return dep('inclusion', 'the leaf hash step failed');
      if (f.leafIndex === undefined || !f.path || !f.rootHash) {
        return dep('inclusion', 'leaf_index, tree_size, inclusion_path or root_hash is malformed');
      }
      var res = await rootFromInclusionProof(f.leafIndex, f.treeSize, computedLeaf, f.path);
      if (res.error) fail(K_MISMATCH, res.error);
      if (!bytesEqual(res.root, f.rootHash)) {
        fail(K_MISMATCH, 'inclusion path leads to root ' + short(bytesToHex(res.root)) +
          ', not to root_hash ' + short(bytesToHex(f.rootHash)));
      }
      pass('inclusion', 'leaf ' + f.leafIndex + ' is in the tree of size ' + f.treeSize +
        ' with root ' + bytesToHex(f.rootHash),
        { leaf: f.leafIndex, size: f.treeSize, root: bytesToHex(f.rootHash) });
    });

    // 5. checkpoint (independent of the entry)
    var note = null;
    await run('checkpoint', async function () {
      if (f.checkpoint === undefined) return dep('checkpoint', 'checkpoint is missing or malformed');
      note = parseNote(f.checkpoint);
      var cp = parseCheckpointBody(note.body);
      if (f.treeSize === undefined || !f.rootHash) {
        return dep('checkpoint', 'tree_size or root_hash is malformed');
      }
      if (cp.size !== BigInt(f.treeSize)) {
        fail(K_MISMATCH, 'checkpoint is for tree size ' + cp.size + ', receipt says ' + f.treeSize);
      }
      if (!bytesEqual(cp.root, f.rootHash)) {
        fail(K_MISMATCH, 'checkpoint root ' + short(bytesToHex(cp.root)) + ' differs from root_hash ' +
          short(bytesToHex(f.rootHash)));
      }
      pass('checkpoint', 'checkpoint of "' + cp.origin + '" for tree size ' + cp.size + ' names this root',
        { origin: cp.origin, size: String(cp.size) });
    });

    // 6. signature (independent of the entry and of step 5's comparisons)
    await run('signature', async function () {
      if (!note) return dep('signature', 'the checkpoint note could not be read');
      var key = await parseVerifierKey(keyText);
      var matches = note.sigs.filter(function (s) {
        return s.name === key.name && bytesEqual(s.keyId, key.keyId);
      });
      var idHex = bytesToHex(key.keyId);
      if (matches.length === 0) {
        fail(K_MISMATCH, 'checkpoint has no signature by the ledger key ' + key.name + ' (id ' + idHex + ')');
      }
      if (matches.length > 1) fail(K_MISMATCH, 'checkpoint has repeated signatures by the ledger key');
      var sig = matches[0].sig;
      if (sig.length !== 64) fail(K_MISMATCH, 'checkpoint signature has the wrong length for Ed25519');
      var ok = await ed25519Verify(key.pub, sig, utf8.encode(note.body));
      if (!ok) fail(K_MISMATCH, 'Ed25519 signature by ' + key.name + ' does not verify');
      pass('signature', 'valid Ed25519 signature by ' + key.name + ' (key id ' + idHex + ')',
        { name: key.name, id: idHex });
    });

    // 7. party commitment (optional)
    await run('party', async function () {
      if (!f.partyPresent) {
        results.party = { id: 'party', ok: null, detail: 'no party salt in this receipt', kind: null };
        return;
      }
      if (!f.partySalt) return dep('party', 'party_salt or party_id is malformed');
      if (f.entry === undefined) return dep('party', 'entry is malformed');
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
      pass('party', 'party ' + f.partyId + ' commitment ' + commitment + ' found at ' + where,
        { party: f.partyId, commitment: commitment });
    });

    return finish(results);
  }

  function finish(results) {
    var steps = STEP_IDS.map(function (id) {
      return results[id] || { id: id, ok: false, detail: 'not checked', kind: K_ERROR };
    });
    var valid = steps.every(function (s) { return s.ok === true || (s.ok === null && s.id === 'party'); });
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

  async function verifyReceipt(receiptText, keyText) {
    try {
      return await verifyReceiptInner(receiptText, keyText);
    } catch (e) {
      var steps = STEP_IDS.map(function (id) {
        return { id: id, ok: false, detail: 'unexpected error: ' + errText(e), kind: K_ERROR };
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

  function fillText(template, args) {
    return template.replace(/\{([a-z_]+)\}/g, function (whole, name) {
      return args && args[name] !== undefined ? String(args[name]) : whole;
    });
  }

  // A step's detail in the page's language.
  function stepDetail(text, s) {
    var english = (document.documentElement.lang || '').toLowerCase().indexOf('en') === 0;
    if (s.ok === true) {
      var passed = text['detail_' + s.id];
      return typeof passed === 'string' ? fillText(passed, s.args) : s.detail;
    }
    var key = s.ok === null ? 'detail_na' : 'fail_' + (s.kind || K_ERROR);
    var sentence = text[key];
    if (typeof sentence !== 'string') return s.detail;
    return english && s.detail && s.ok === false ? sentence + ' (' + s.detail + ')' : sentence;
  }

  function init() {
    var form = document.getElementById('verify-form');
    var input = document.getElementById('receipt-input');
    var fileInput = document.getElementById('receipt-file');
    var keyInput = document.getElementById('key-input');
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
        var res = await verifyReceipt(input.value, keyInput ? keyInput.value : '');
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
