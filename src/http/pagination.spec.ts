import { ServiceError } from '../core/service-error';
import { decodeCursor, encodeCursor, page, type Cursor } from './pagination';

const row = (i: number): Cursor & { label: string } => ({
  createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
  id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  label: `row ${i}`,
});

function expectInvalidCursor(raw: string): void {
  let error: unknown;
  try {
    decodeCursor(raw);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ServiceError);
  expect(error).toMatchObject({ code: 'INVALID_FIELD', details: { field: 'cursor' } });
}

describe('cursor encoding', () => {
  it('round-trips (createdAt, id) through an opaque URL-safe string', () => {
    const cursor = { createdAt: new Date('2026-11-26T22:50:01.123Z'), id: '7d3f1c2e-0b4a-4c5d-9e8f-0123456789ab' };
    const encoded = encodeCursor(cursor);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(encoded)).toEqual(cursor);
  });

  it('treats an absent or empty cursor as the first page', () => {
    expect(decodeCursor(undefined)).toBeUndefined();
    expect(decodeCursor('')).toBeUndefined();
  });

  it.each([
    ['garbage', 'not base64 of anything sensible'],
    ['no separator', Buffer.from('2026-01-01T00:00:00.000Z').toString('base64url')],
    ['bad date', Buffer.from('yesterday|7d3f1c2e-0b4a-4c5d-9e8f-0123456789ab').toString('base64url')],
    ['bad id', Buffer.from('2026-01-01T00:00:00.000Z|42').toString('base64url')],
    ['empty id', Buffer.from('2026-01-01T00:00:00.000Z|').toString('base64url')],
    ['id with junk', Buffer.from("2026-01-01T00:00:00.000Z|7d3f1c2e-0b4a-4c5d-9e8f-01234567'; --").toString('base64url')],
  ])('rejects a cursor with %s as INVALID_FIELD', (_what, raw) => {
    expectInvalidCursor(raw);
  });
});

describe('page', () => {
  const rows = Array.from({ length: 5 }, (_, i) => row(i));

  it('gives a nextCursor (of the last item shown) only when there are more rows than the limit', () => {
    const first = page(rows.slice(0, 3), 2);
    expect(first.items).toEqual(rows.slice(0, 2));
    expect(first.nextCursor).not.toBeNull();
    expect(decodeCursor(first.nextCursor!)).toEqual({ createdAt: rows[1].createdAt, id: rows[1].id });
  });

  it('gives no nextCursor on the last page', () => {
    expect(page(rows.slice(0, 2), 2)).toEqual({ items: rows.slice(0, 2), nextCursor: null });
    expect(page(rows.slice(0, 1), 2)).toEqual({ items: rows.slice(0, 1), nextCursor: null });
    expect(page([], 2)).toEqual({ items: [], nextCursor: null });
  });
});
