using System.Collections.Concurrent;

namespace Sluice.Inference.Generation;

/// <summary>
/// Generation in our own loop over ONNX Runtime, for every request of an actor (all its concurrent batches share it).
/// Continuous: after each step a finished row leaves and a waiting prompt joins at once (prefilled alone, then its KV
/// copied into the batch's); the batch's KV stays in the OrtValues ONNX Runtime returned and is copied only when rows
/// leave or join. Static (<c>continuous: false</c>, for comparison): prompts join only when the whole batch has finished;
/// a finished row stays in the batch, its tokens thrown away, until then.
/// One loop runs at a time, on a pool thread, while requests wait or run; it ends when none are left.
/// A failed step fails every request in flight or waiting, naming the model; the next request starts a new loop.
/// </summary>
internal sealed class ContinuousBatcher(DecoderRunner runner, int maxBatch, bool continuous)
{
    private readonly ConcurrentQueue<Pending> _waiting = new();
    private readonly Lock _gate = new();
    private bool _running;
    private volatile bool _stopping;
    private Task _loop = Task.CompletedTask;
    private long _generated;
    private long _steps;

    /// <summary>Tokens generated so far (all rows, thrown-away static tokens not counted).</summary>
    public long GeneratedTokens => Interlocked.Read(ref _generated);

    /// <summary>Decode steps run so far (prefills not counted).</summary>
    public long Steps => Interlocked.Read(ref _steps);

    public Task<GenerationResult> Submit(GenerationRequest request, CancellationToken cancellationToken)
    {
        var pending = new Pending(request, new TaskCompletionSource<GenerationResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (cancellationToken.CanBeCanceled)
            cancellationToken.Register(static o => ((Pending)o!).Completion.TrySetCanceled(), pending);
        _waiting.Enqueue(pending);
        lock (_gate)
        {
            if (_stopping)
            {
                pending.Completion.TrySetException(new ObjectDisposedException(nameof(ContinuousBatcher), "the generation loop has been stopped"));
            }
            else if (!_running)
            {
                _running = true;
                _loop = Task.Factory.StartNew(Loop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }
        }
        return pending.Completion.Task;
    }

    /// <summary>
    /// Cancels what waits or runs and returns once the loop has stopped: after it, the model may be disposed (a Run
    /// still in flight would otherwise use a disposed session).
    /// </summary>
    public Task StopAsync()
    {
        Task loop;
        lock (_gate)
        {
            _stopping = true;
            loop = _loop;
        }
        while (_waiting.TryDequeue(out var p)) p.Completion.TrySetCanceled();
        return loop;
    }

    /// <summary>Generates every request and returns their results in order.</summary>
    public Task<GenerationResult[]> GenerateAsync(IEnumerable<GenerationRequest> requests, CancellationToken cancellationToken) =>
        Task.WhenAll(requests.Select(r => Submit(r, cancellationToken)).ToList());

    private void Loop()
    {
        var active = new List<Slot>();
        KvCache? cache = null;
        var stale = false; // rows left the batch since the cache was built
        try
        {
            while (true)
            {
                if (_stopping) foreach (var a in active) a.Pending.Completion.TrySetCanceled();
                stale |= active.RemoveAll(a => a.Pending.Completion.Task.IsCompleted && !a.Row.Done) > 0; // cancelled
                var joins = new List<(Slot Slot, KvCache Cache)>();
                if (continuous || active.Count == 0) Admit(active.Count, joins);
                if (active.Count == 0 && joins.Count == 0)
                {
                    cache?.Dispose();
                    cache = null;
                    stale = false;
                    lock (_gate)
                    {
                        if (_waiting.IsEmpty)
                        {
                            _running = false;
                            return;
                        }
                    }
                    continue;
                }
                if (stale || joins.Count > 0)
                {
                    List<(KvCache, int, int)> parts = [.. active.Select(a => (cache!, a.Index, a.Row.Cached)), .. joins.Select(j => (j.Cache, 0, j.Slot.Row.Cached))];
                    var rebuilt = KvCache.Gather(parts, runner.Model.Layers, runner.Model.KvHeads, runner.Model.HeadSize);
                    foreach (var j in joins) j.Cache.Dispose();
                    cache?.Dispose();
                    cache = rebuilt;
                    active.AddRange(joins.Select(j => j.Slot));
                    for (var i = 0; i < active.Count; i++) active[i].Index = i;
                    stale = false;
                }
                cache = Step(active, cache!);
                if (continuous)
                {
                    stale |= active.RemoveAll(a => a.Row.Done) > 0;
                }
                else if (active.All(a => a.Row.Done))
                {
                    active.Clear();
                }
            }
        }
        catch (Exception e)
        {
            var error = e as SluiceException ?? new SluiceException($"generation with model '{runner.Model.Path}' failed: {e.Message}", e);
            foreach (var a in active) a.Pending.Completion.TrySetException(error);
            lock (_gate)
            {
                while (_waiting.TryDequeue(out var p)) p.Completion.TrySetException(error);
                _running = false;
            }
        }
        finally
        {
            cache?.Dispose();
        }
    }

    /// <summary>Prefills waiting prompts, each alone, until the batch would hold <c>maxBatch</c> rows; a row done after its first token completes at once.</summary>
    private void Admit(int activeRows, List<(Slot, KvCache)> joins)
    {
        while (activeRows + joins.Count < maxBatch && _waiting.TryDequeue(out var pending))
        {
            if (_stopping) pending.Completion.TrySetCanceled();
            if (pending.Completion.Task.IsCompleted) continue; // cancelled while waiting
            var row = new RowState(pending.Request, runner.Model.Tokenizer, runner.Model.ContextLength);
            try
            {
                var (cache, logits) = runner.Prefill(pending.Request.Prompt);
                row.Cached = pending.Request.Prompt.Count;
                row.Accept(logits);
                Interlocked.Increment(ref _generated);
                if (row.Result is { } result)
                {
                    cache.Dispose();
                    pending.Completion.TrySetResult(result);
                    continue;
                }
                joins.Add((new Slot(pending, row), cache));
            }
            catch (Exception e)
            {
                pending.Completion.TrySetException(e);
                throw;
            }
        }
    }

    /// <summary>One decode step of every row; returns the grown cache (the old one is disposed).</summary>
    private KvCache Step(List<Slot> active, KvCache cache)
    {
        var (next, logits) = runner.Step(cache, [.. active.Select(a => a.Row.Last)], [.. active.Select(a => a.Row.Cached)]);
        cache.Dispose();
        Interlocked.Increment(ref _steps);
        var all = logits.GetTensorDataAsSpan<float>();
        var vocab = all.Length / active.Count;
        for (var i = 0; i < active.Count; i++)
        {
            var slot = active[i];
            slot.Row.Cached++;
            if (slot.Row.Done) continue; // static: a finished row waits for its batch
            slot.Row.Accept(all.Slice(i * vocab, vocab));
            Interlocked.Increment(ref _generated);
            if (slot.Row.Result is { } result) slot.Pending.Completion.TrySetResult(result);
        }
        return next;
    }

    private sealed record Pending(GenerationRequest Request, TaskCompletionSource<GenerationResult> Completion);

    private sealed class Slot(Pending pending, RowState row)
    {
        public Pending Pending { get; } = pending;

        public RowState Row { get; } = row;

        /// <summary>The row's index in the cache it was last stepped in.</summary>
        public int Index { get; set; }
    }
}
