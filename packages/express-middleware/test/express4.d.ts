// express4 is an npm alias of express@4, which ships no types; the tests use the API both
// majors share, typed by @types/express.
declare module 'express4' {
  import express = require('express');
  export = express;
}
