import testing from './testing.js'

export const { startServer, TestServer } = testing
export default testing
