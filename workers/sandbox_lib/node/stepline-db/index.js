'use strict';
/**
 * Stepline's database proxy client for functions (Node.js, no dependencies).
 *
 *   const { connect } = require('stepline-db');
 *   const db = connect('orders');               // or connect() when one proxy is attached
 *   const rows = await db.query('SELECT * FROM orders WHERE customer = $1', ['c-7']);
 *   await db.transaction(async (tx) => { await tx.query('UPDATE stock SET n = n - 1 WHERE sku = $1', ['A-1']); });
 *   db.close();
 *
 * Errors reject with a DatabaseError whose `code` is PostgreSQL's SQLSTATE.
 */
const net = require('net');

class DatabaseError extends Error {
  constructor(code, message, details = {}) {
    super(`${code}: ${message}`);
    this.name = 'DatabaseError';
    this.code = code;
    this.details = details;
  }
}

function socketPath(proxy) {
  if (proxy) {
    const key = proxy.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    const path = process.env[`STEPLINE_DB_${key}_SOCKET`];
    if (!path) throw new DatabaseError('08001', `db proxy '${proxy}' is not attached to this function`);
    return path;
  }
  const found = Object.keys(process.env).filter((k) => k.startsWith('STEPLINE_DB_') && k.endsWith('_SOCKET'));
  if (found.length !== 1) throw new DatabaseError('08001', `${found.length} db proxies are attached: name the one to use`);
  return process.env[found[0]];
}

class Connection {
  constructor(path) {
    this._socket = net.createConnection(path);
    this._buffer = Buffer.alloc(0);
    this._waiting = [];
    this._closed = null;
    this._socket.on('data', (chunk) => this._onData(chunk));
    const fail = (err) => {
      this._closed = new DatabaseError('08006', `db proxy connection lost${err ? ': ' + err.message : ''}`);
      for (const w of this._waiting.splice(0)) w.reject(this._closed);
    };
    this._socket.on('error', fail);
    this._socket.on('close', () => fail(null));
  }

  _onData(chunk) {
    this._buffer = Buffer.concat([this._buffer, chunk]);
    while (this._buffer.length >= 5) {
      const length = this._buffer.readUInt32BE(1);
      if (this._buffer.length < 1 + length) break;
      const answer = JSON.parse(this._buffer.subarray(5, 1 + length).toString('utf8'));
      this._buffer = this._buffer.subarray(1 + length);
      const waiter = this._waiting.shift();
      if (!waiter) continue;
      if (answer.ok) waiter.resolve(answer);
      else {
        const { code = 'XX000', message = '', ...details } = answer.error || {};
        waiter.reject(new DatabaseError(code, message, details));
      }
    }
  }

  _call(request) {
    if (this._closed) return Promise.reject(this._closed);
    return new Promise((resolve, reject) => {
      this._waiting.push({ resolve, reject });
      const body = Buffer.from(JSON.stringify(request), 'utf8');
      const header = Buffer.alloc(5);
      header.write('J', 0);
      header.writeUInt32BE(body.length + 4, 1);
      this._socket.write(Buffer.concat([header, body]));
    });
  }

  /** Run one statement: { rows, columns, rowCount, command }. */
  async execute(sql, params = []) {
    const a = await this._call({ op: 'query', sql, params });
    return { rows: a.rows, columns: a.columns, rowCount: a.rowCount, command: a.command };
  }

  /** Run one statement; its rows. */
  async query(sql, params = []) {
    return (await this.execute(sql, params)).rows;
  }

  begin() { return this._call({ op: 'begin' }); }
  commit() { return this._call({ op: 'commit' }); }
  rollback() { return this._call({ op: 'rollback' }); }

  /** Commit after `work` resolves, roll back if it throws. */
  async transaction(work) {
    await this.begin();
    let result;
    try {
      result = await work(this);
    } catch (err) {
      await this.rollback();
      throw err;
    }
    await this.commit();
    return result;
  }

  close() { this._socket.end(); }
}

function connect(proxy) {
  return new Connection(socketPath(proxy));
}

module.exports = { connect, Connection, DatabaseError, socketPath };
