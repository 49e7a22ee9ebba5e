import { currentContext } from '@ctxkit/core';
import { BadRequestException, Body, Controller, Get, HttpCode, Inject, type OnModuleInit, Post, Query } from '@nestjs/common';
import type { ClientGrpc } from '@nestjs/microservices';
import { lastValueFrom, toArray } from 'rxjs';
import { INVENTORY, type InventoryService } from './inventory.ts';

interface NewReservation {
  sku: string;
  quantity: number;
  /** Demo knob: how long the inventory hop pretends to work, ms. */
  workMs: number;
}

/**
 * The storefront's REST API. No header, metadata or deadline handling here: the context is
 * ctxkit's, the gRPC calls carry it, and an error a call ends with (NOT_FOUND, a deadline…) is
 * answered by ctxkit's exception filter.
 */
@Controller()
export class StockController implements OnModuleInit {
  #inventory!: InventoryService;

  constructor(@Inject(INVENTORY) private readonly client: ClientGrpc) {}

  onModuleInit(): void {
    this.#inventory = this.client.getService<InventoryService>('Inventory');
  }

  /** `GET /stock?skus=book,mug`: the stock levels, read from inventory's server stream. */
  @Get('stock')
  stock(@Query('skus') skus = ''): Promise<StockLevel[]> {
    const wanted = skus.split(',').filter((sku) => sku !== '');
    return lastValueFrom(this.#inventory.watchStock({ skus: wanted }).pipe(toArray()));
  }

  /** `POST /reservations {sku, quantity}`: reserves stock; answers with what inventory saw. */
  @Post('reservations')
  @HttpCode(201)
  async reserve(@Body() body: unknown) {
    const { sku, quantity, workMs } = parseReservation(body);
    const { traceId, requestId } = currentContext();
    const reply = await lastValueFrom(this.#inventory.reserve({ orderId: requestId, sku, quantity, workMs }));
    return { reservationId: reply.reservationId, traceId, inventory: reply.hop };
  }
}

type StockLevel = { sku: string; available: number };

function parseReservation(body: unknown): NewReservation {
  const { sku, quantity, workMs = 0 } = (body ?? {}) as Partial<Record<keyof NewReservation, unknown>>;
  if (typeof sku !== 'string' || sku.length === 0 || sku.length > 64) throw new BadRequestException('sku: a string of 1 to 64 characters');
  if (!Number.isInteger(quantity) || (quantity as number) < 1 || (quantity as number) > 100) throw new BadRequestException('quantity: an integer from 1 to 100');
  if (!Number.isInteger(workMs) || (workMs as number) < 0 || (workMs as number) > 10_000) throw new BadRequestException('workMs: an integer from 0 to 10000');
  return { sku, quantity: quantity as number, workMs: workMs as number };
}
