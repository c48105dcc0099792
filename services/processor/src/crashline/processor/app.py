"""Building the processor from settings (the worker, the CLI and the tests share this)."""

from __future__ import annotations

from dataclasses import dataclass

from crashline.common.database.pool import Database
from crashline.common.queue import queue_from_settings
from crashline.common.retry import Backoff
from crashline.common.search import SearchBackend, search_from_settings
from crashline.common.signature import SignatureGenerator
from crashline.common.storage import storage_from_settings
from crashline.processor import metrics
from crashline.processor.consumer import Consumer, WeightedSchedule
from crashline.processor.destinations import (
    DatabaseDestination,
    SearchDestination,
    StorageDestination,
)
from crashline.processor.pipeline import Pipeline
from crashline.processor.processor import CrashProcessor
from crashline.processor.rules import default_rulesets, load_rules
from crashline.processor.rules.signature import SignatureGeneratorRule
from crashline.processor.settings import ProcessorSettings
from crashline.processor.stackwalker import Stackwalker


@dataclass
class Processor:
    settings: ProcessorSettings
    processor: CrashProcessor
    stackwalker: Stackwalker
    search: SearchBackend
    checks: dict


def build_processor(settings: ProcessorSettings, *, with_metrics: bool = True) -> Processor:
    # Pools as big as the threads that use a backend at once, and one more for the health
    # server's checks. Storage: the workers read crashes while the saver writes a batch's
    # crashes side by side (itself and its pool, one thread per worker). The search engine
    # and PostgreSQL: only the saver and its pool write there.
    workers = settings.processor_workers
    storage = storage_from_settings(settings, connections=2 * workers + 2)
    search = search_from_settings(settings, connections=workers + 1)
    database = Database(settings.database_url, settings.database_pool_min,
                        max(settings.database_pool_max, workers + 1))
    stackwalker = Stackwalker.from_settings(settings)
    generator = SignatureGenerator(settings.signature_lists_dir)
    rulesets = default_rulesets(
        stackwalker, SignatureGeneratorRule(generator),
        stackwalk_timer=metrics.stackwalk_timer if with_metrics else None,
        extra_rules=load_rules(settings.processor_extra_rules),
    )
    pipeline = Pipeline(rulesets, timer=metrics.rule_timer if with_metrics else None)
    destinations = [
        StorageDestination(storage),
        SearchDestination(search, refresh=settings.processor_search_refresh),
        DatabaseDestination(database),
    ]
    processor = CrashProcessor(
        storage, pipeline, destinations, tmp_dir=settings.processor_tmp_dir,
        on_saved=metrics.on_saved if with_metrics else None,
        save_timer=metrics.save_timer if with_metrics else None,
        on_batch=metrics.on_batch if with_metrics else None,
        save_threads=settings.processor_workers, save_batch=settings.processor_save_batch,
    )

    def rabbitmq():
        client = queue_from_settings(settings, connect_attempts=1)
        try:
            client.check()
        finally:
            client.close()

    checks = {
        "storage": storage.check,
        "search": search.check,
        "database": database.check,
        "rabbitmq": rabbitmq,
        "stackwalker": stackwalker.check,
    }
    return Processor(settings, processor, stackwalker, search, checks)


def build_consumer(app: Processor) -> Consumer:
    settings = app.settings
    client = queue_from_settings(settings)
    schedule = WeightedSchedule(client.names, settings.processor_weight_priority,
                                settings.processor_weight_standard,
                                settings.processor_weight_reprocessing)
    retry = Backoff(settings.processor_max_attempts, settings.processor_retry_base_delay,
                    settings.processor_retry_max_delay)
    return Consumer(client, app.processor, workers=settings.processor_workers,
                    queue_size=settings.processor_queue_size,
                    max_in_flight=settings.processor_max_in_flight, schedule=schedule,
                    idle_delay=settings.processor_idle_delay, retry=retry,
                    on_result=metrics.on_result)
