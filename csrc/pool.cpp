// The library's own threads: a persistent pool that splits one loop of tasks at a time.
//
// Workers spin for a short while after each loop (so that back-to-back kernels hand work over
// in about a microsecond), then sleep on a condition variable.  The caller runs tasks too and
// then waits only for the workers that took some: a worker that wakes late, or not at all,
// costs the caller nothing.  One loop runs at a time: a second Python thread
// that calls while the pool is busy runs its loop on its own thread instead of waiting.  After
// fork() the child starts a new pool on its first call (the parent's threads do not exist
// there).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <pthread.h>

#include "kernels.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
static inline void relax() { _mm_pause(); }
#elif defined(__aarch64__)
static inline void relax() { asm volatile("yield"); }
#else
static inline void relax() {}
#endif

namespace strided {
namespace {

constexpr auto spin_time = std::chrono::microseconds(200);

// One loop of tasks, on the caller's stack for the length of its run().
struct Job {
    TaskFn fn;
    void* context;
    int64_t tasks;
    int64_t parts;  // threads that may take part, the caller's included
    std::atomic<int64_t> next{0};
};

class Pool {
  public:
    explicit Pool(int threads) : threads_(threads < 1 ? 1 : threads) {
        for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { work(i); });
    }
    ~Pool() {
        stop_.store(true);
        {
            std::lock_guard<std::mutex> lock(sleep_mutex_);
            generation_.fetch_add(1);
        }
        wake_.notify_all();
        for (auto& worker : workers_) worker.join();
    }
    int threads() const { return threads_; }

    void run(int64_t tasks, int64_t parts, TaskFn fn, void* context) {
        if (!busy_.try_lock()) {  // another Python thread's loop is running: do it here
            fn(context, 0, tasks);
            return;
        }
        Job job{fn, context, tasks, parts};
        job_.store(&job);
        generation_.fetch_add(1);
        if (sleepers_.load() > 0) {
            std::lock_guard<std::mutex> lock(sleep_mutex_);
            wake_.notify_all();
        }
        take(job);
        // Every task is taken: close the job, then wait only for the workers inside it (a
        // worker that wakes late finds no job and never holds the caller up).
        job_.store(nullptr);
        for (int spins = 0; users_.load() != 0; ++spins) {
            if (spins < 4096) relax();
            else std::this_thread::yield();
        }
        busy_.unlock();
    }

  private:
    // Tasks are taken a share at a time, about 1/16 of each thread's: a loop of 100,000
    // one-row tasks would otherwise pass the counter's cache line between the cores at every
    // row (5-8x slower on two threads than on one, measured on 14x14x32 ReLUs).
    static void take(Job& job) {
        const int64_t grain = job.tasks / (16 * job.parts) + 1;
        for (int64_t task; (task = job.next.fetch_add(grain)) < job.tasks;)
            job.fn(job.context, task, std::min(task + grain, job.tasks));
    }

    void work(int index) {
        uint64_t seen = 0;
        while (true) {
            uint64_t now = generation_.load();
            auto start = std::chrono::steady_clock::now();
            for (int spins = 0; now == seen; ++spins) {
                relax();
                now = generation_.load();
                if (now == seen && (spins & 255) == 255 &&
                    std::chrono::steady_clock::now() - start > spin_time) {
                    std::unique_lock<std::mutex> lock(sleep_mutex_);
                    sleepers_.fetch_add(1);
                    wake_.wait(lock, [&] { return generation_.load() != seen; });
                    sleepers_.fetch_sub(1);
                    now = generation_.load();
                }
            }
            seen = now;
            if (stop_.load()) return;
            users_.fetch_add(1);  // before reading the job: run() waits for users_ == 0
            Job* job = job_.load();
            if (job != nullptr && index < job->parts) take(*job);
            users_.fetch_sub(1);
        }
    }

    const int threads_;
    std::vector<std::thread> workers_;
    std::mutex busy_, sleep_mutex_;
    std::condition_variable wake_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> sleepers_{0};
    std::atomic<Job*> job_{nullptr};
    std::atomic<int> users_{0};
    std::atomic<bool> stop_{false};
};

std::mutex pool_mutex;  // guards the pointer, not the pool's work
std::shared_ptr<Pool> pool;  // a caller keeps its copy: a replaced pool ends after its last call
bool atfork_registered = false;

void forget_pool_in_child() {
    // The parent's workers do not exist in the child: drop the pool without joining them.
    new (&pool_mutex) std::mutex();
    new (&pool) std::shared_ptr<Pool>();  // the old one is leaked, never destroyed
}

// A pool of at least ``threads`` threads; it grows to the largest count asked for.
std::shared_ptr<Pool> pool_of(int64_t threads) {
    std::lock_guard<std::mutex> lock(pool_mutex);
    if (!atfork_registered) {
        pthread_atfork(nullptr, nullptr, forget_pool_in_child);
        atfork_registered = true;
    }
    if (pool == nullptr || pool->threads() < threads) pool = std::make_shared<Pool>(int(threads));
    return pool;
}

}  // namespace

void parallel_for(int64_t tasks, int64_t parts, TaskFn fn, void* context) {
    if (tasks <= 0) return;
    if (parts <= 1 || tasks == 1) {
        fn(context, 0, tasks);
        return;
    }
    pool_of(parts)->run(tasks, parts, fn, context);
}

}  // namespace strided
