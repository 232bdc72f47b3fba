; ModuleID = 'llmc_idx'
source_filename = "llmc_idx"

; Function Attrs: nounwind
define void @llmc_idx(ptr %bufs, i64 %begin, i64 %end) #0 {
entry:
  %0 = getelementptr ptr, ptr %bufs, i64 0
  %in = load ptr, ptr %0, align 8
  %1 = getelementptr ptr, ptr %bufs, i64 1
  %in1 = load ptr, ptr %1, align 8
  %2 = getelementptr ptr, ptr %bufs, i64 2
  %out = load ptr, ptr %2, align 8
  %acc = alloca [3 x double], align 64
  br label %idx.head

idx.head:                                         ; preds = %chunk.exit, %entry
  %idx = phi i64 [ %begin, %entry ], [ %6, %chunk.exit ]
  %3 = icmp slt i64 %idx, %end
  br i1 %3, label %idx.body, label %idx.exit

idx.body:                                         ; preds = %idx.head
  %j = urem i64 %idx, 10
  %pre = udiv i64 %idx, 10
  %4 = udiv i64 %pre, 1
  %ibase = mul i64 %4, 6
  %ubase = mul i64 %pre, 18
  %obase = mul i64 %idx, 3
  br label %chunk.head

idx.exit:                                         ; preds = %idx.head
  ret void

chunk.head:                                       ; preds = %o.exit, %idx.body
  %chunk = phi i64 [ 0, %idx.body ], [ %35, %o.exit ]
  %5 = icmp slt i64 %chunk, 1
  br i1 %5, label %chunk.body, label %chunk.exit

chunk.body:                                       ; preds = %chunk.head
  %c0 = mul i64 %chunk, 3
  br label %z.head

chunk.exit:                                       ; preds = %chunk.head
  %6 = add i64 %idx, 1
  br label %idx.head

z.head:                                           ; preds = %z.body, %chunk.body
  %z = phi i64 [ 0, %chunk.body ], [ %9, %z.body ]
  %7 = icmp slt i64 %z, 3
  br i1 %7, label %z.body, label %z.exit

z.body:                                           ; preds = %z.head
  %8 = getelementptr double, ptr %acc, i64 %z
  store double 0.000000e+00, ptr %8, align 8
  %9 = add i64 %z, 1
  br label %z.head

z.exit:                                           ; preds = %z.head
  br label %m.head

m.head:                                           ; preds = %m.next, %z.exit
  %m = phi i64 [ 0, %z.exit ], [ %17, %m.next ]
  %10 = icmp slt i64 %m, 6
  br i1 %10, label %m.body, label %m.exit

m.body:                                           ; preds = %m.head
  %11 = add i64 %ibase, %m
  %12 = getelementptr i32, ptr %in, i64 %11
  %13 = load i32, ptr %12, align 4
  %14 = sext i32 %13 to i64
  %hit = icmp eq i64 %14, %j
  br i1 %hit, label %hit2, label %m.next

m.exit:                                           ; preds = %m.head
  br label %o.head

hit2:                                             ; preds = %m.body
  %15 = mul i64 %m, 3
  %16 = add i64 %ubase, %15
  %urow = add i64 %16, %c0
  br label %q.head

m.next:                                           ; preds = %q.exit, %m.body
  %17 = add i64 %m, 1
  br label %m.head

q.head:                                           ; preds = %q.body, %hit2
  %q = phi i64 [ 0, %hit2 ], [ %26, %q.body ]
  %18 = icmp slt i64 %q, 3
  br i1 %18, label %q.body, label %q.exit

q.body:                                           ; preds = %q.head
  %19 = add i64 %urow, %q
  %20 = getelementptr float, ptr %in1, i64 %19
  %21 = load float, ptr %20, align 4
  %22 = fpext float %21 to double
  %23 = getelementptr double, ptr %acc, i64 %q
  %24 = load double, ptr %23, align 8
  %25 = fadd double %24, %22
  store double %25, ptr %23, align 8
  %26 = add i64 %q, 1
  br label %q.head

q.exit:                                           ; preds = %q.head
  br label %m.next

o.head:                                           ; preds = %o.body, %m.exit
  %o = phi i64 [ 0, %m.exit ], [ %34, %o.body ]
  %27 = icmp slt i64 %o, 3
  br i1 %27, label %o.body, label %o.exit

o.body:                                           ; preds = %o.head
  %28 = getelementptr double, ptr %acc, i64 %o
  %29 = load double, ptr %28, align 8
  %30 = fptrunc double %29 to float
  %31 = add i64 %obase, %c0
  %32 = add i64 %31, %o
  %33 = getelementptr float, ptr %out, i64 %32
  store float %30, ptr %33, align 4
  %34 = add i64 %o, 1
  br label %o.head

o.exit:                                           ; preds = %o.head
  %35 = add i64 %chunk, 1
  br label %chunk.head
}

attributes #0 = { nounwind }
