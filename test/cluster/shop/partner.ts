// partner-rates: an HTTP service the frontend reaches by an external-looking name
// (rates.partner.example), which only the cluster's DNS server resolves.
import http from 'node:http';
import { count, startAdmin } from './lib.js';

export function startPartner(): void {
  startAdmin('partner-rates');
  http.createServer((req, res) => {
    count('requests');
    count(`host_${req.headers.host}`);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ base: 'USD', rates: { EUR: 0.92, GBP: 0.79, JPY: 151.3 } }));
  }).listen(8080, '0.0.0.0');
}
