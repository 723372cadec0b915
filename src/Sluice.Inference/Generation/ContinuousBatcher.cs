using System.Collections.Concurrent;

namespace Sluice.Inference.Generation;

/// <summary>
/// Generation in our own loop over ONNX Runtime, for every request of an actor (all its concurrent batches share it).
/// Continuous: after each step a finished row leaves and waiting prompts join at once (prefilled together in groups of
/// similar length, <see cref="PrefillPolicy"/>, then their KV copied into the batch's); the batch's KV stays in the
/// OrtValues ONNX Runtime returned and is copied only when rows leave or join. Static (<c>continuous: false</c>, for comparison): prompts join only when the whole batch has finished;
/// a finished row stays in the batch, its tokens thrown away, until then.
/// One loop runs at a time, on a pool thread, while requests wait or run; it ends when none are left.
/// A failed step fails every request in flight or waiting, naming the model; the next request starts a new loop.
/// </summary>
internal sealed class ContinuousBatcher(DecoderRunner runner, int maxBatch, bool continuous, PrefillPolicy? prefill = null)
{
    private readonly PrefillPolicy _prefill = prefill ?? new PrefillPolicy(maxBatch);
    private readonly ConcurrentQueue<Pending> _waiting = new();
    private readonly Lock _gate = new();
    private bool _running;
    private volatile bool _stopping;
    private Task _loop = Task.CompletedTask;
    private long _generated;
    private long _steps;
    private long _prefills;

    /// <summary>Tokens generated so far (all rows, thrown-away static tokens not counted).</summary>
    public long GeneratedTokens => Interlocked.Read(ref _generated);

    /// <summary>Decode steps run so far (prefills not counted).</summary>
    public long Steps => Interlocked.Read(ref _steps);

    /// <summary>Prefill Runs so far (one per group of prompts prefilled together).</summary>
    public long Prefills => Interlocked.Read(ref _prefills);

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
                var joins = new List<(Slot Slot, KvSpan Kv)>();
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
                    List<KvSpan> parts = [.. active.Select(a => cache!.Right(a.Index, a.Row.Cached)), .. joins.Select(j => j.Kv)];
                    var rebuilt = KvCache.Gather(parts, runner.Model.Layers, runner.Model.KvHeads, runner.Model.HeadSize);
                    foreach (var prefilled in joins.Select(j => j.Kv.Source).Distinct()) prefilled.Dispose();
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

    /// <summary>
    /// Takes waiting prompts until the batch would hold <c>maxBatch</c> rows and prefills them in groups
    /// (<see cref="PrefillPolicy"/>); a row done after its first token completes at once, and its slot is filled again
    /// before the step. A failed prefill fails every prompt taken here (and, thrown on, the loop's rows).
    /// </summary>
    private void Admit(int activeRows, List<(Slot Slot, KvSpan Kv)> joins)
    {
        var caches = new List<KvCache>();
        var taken = new List<Slot>();
        try
        {
            while (true)
            {
                var round = new List<Slot>();
                while (activeRows + joins.Count + round.Count < maxBatch && _waiting.TryDequeue(out var pending))
                {
                    if (_stopping) pending.Completion.TrySetCanceled();
                    if (pending.Completion.Task.IsCompleted) continue; // cancelled while waiting
                    round.Add(new Slot(pending, new RowState(pending.Request, runner.Model.Tokenizer, runner.Model.ContextLength)));
                }
                if (round.Count == 0) return;
                taken.AddRange(round);
                foreach (var group in _prefill.Groups([.. round.Select(t => t.Row.Request.Prompt.Count)]))
                    Prefill([.. group.Select(i => round[i])], joins, caches);
            }
        }
        catch (Exception e)
        {
            foreach (var t in taken) t.Pending.Completion.TrySetException(e);
            joins.Clear();
            foreach (var c in caches) c.Dispose();
            throw;
        }
    }

    /// <summary>One prefill Run of <paramref name="group"/>: each row takes its first token; those not done join with their span of the cache.</summary>
    private void Prefill(List<Slot> group, List<(Slot Slot, KvSpan Kv)> joins, List<KvCache> caches)
    {
        var (cache, logits) = runner.Prefill([.. group.Select(s => s.Row.Request.Prompt)]);
        caches.Add(cache);
        Interlocked.Increment(ref _prefills);
        var joined = false;
        for (var k = 0; k < group.Count; k++)
        {
            var slot = group[k];
            slot.Row.Cached = slot.Row.Request.Prompt.Count;
            slot.Row.Accept(logits[k]);
            Interlocked.Increment(ref _generated);
            if (slot.Row.Result is { } result) slot.Pending.Completion.TrySetResult(result);
            else
            {
                joins.Add((slot, cache.Left(k, slot.Row.Cached)));
                joined = true;
            }
        }
        if (!joined)
        {
            caches.Remove(cache);
            cache.Dispose(); // every row of the group finished on its first token
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
