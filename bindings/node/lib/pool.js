'use strict'; class Pool { constructor() { throw new Error('todo'); } } module.exports = { Pool };
