// The coding-6 rANS kernels (ctrellis_decode_chunk_pair and ctrellis_encode_chunk_pair) of two builds
// in one process, timed alternately (A, B, A, B, ...; the fastest of 40 passes each), so that a shared
// machine's drifting speed hits both alike; also checks that both decode the same floats and encode
// the same bytes. Built and run by scripts/trellis-kernel-bench: A is trellis_rans.c of a git
// revision, B the working tree's (its two pair functions renamed with a _B suffix). Data: 64 chunks of 128 x 256 Laplacian weights,
// indices from the trellis pass (mode 1) at the step given, coded with one class.
// Usage: trellis-kernel-bench [STEP]   (smaller step: more bits per element)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include "ctrellis.h"
void ctrellis_decode_chunk_pair_B(const uint8_t *bytes_a, int64_t length_a, int64_t rows_a, const uint8_t *row_class_a, float *out_a,
                                const uint8_t *bytes_b, int64_t length_b, int64_t rows_b, const uint8_t *row_class_b, float *out_b,
                                int64_t columns, const int8_t *shift, int32_t k_max, int dependent, const uint32_t *slots,
                                float step, int32_t *status);
void ctrellis_encode_chunk_pair_B(const int32_t *q_a, int64_t rows_a, const uint8_t *row_class_a,
                                const int32_t *q_b, int64_t rows_b, const uint8_t *row_class_b,
                                int64_t columns, const int8_t *shift, int32_t k_max, int dependent, const uint32_t *entries,
                                const uint64_t *reciprocals, uint8_t *out_a, uint8_t *out_b, uint16_t *scratch_words,
                                uint8_t *scratch_states, int64_t *lengths);
static double now(void){struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec+t.tv_nsec*1e-9;}
static uint64_t s=88172645463325252ull; static double u(void){s^=s<<13;s^=s>>7;s^=s<<17;return (s>>11)*(1.0/9007199254740992.0);}
static uint32_t tok(uint32_t m){ if(m<32) return m; uint32_t e=31-__builtin_clz(m); return 32+(e-5)*8+((m>>(e-3))&7);}
int main(int argc,char**argv){
  double scale = argc>1 ? atof(argv[1]) : 0.004;   // step: smaller = more bits
  const int64_t rows=128, columns=256, chunks=64, per=rows*columns, n=per*chunks;
  float *v=malloc(n*4); for(int64_t i=0;i<n;i++){double x=u(); v[i]=(float)((x<0.5?1:-1)*0.02*log(2*(x<0.5?x:1-x)+1e-12));}
  uint8_t *rc=calloc(rows*chunks,1); int8_t *sh=calloc(columns,1);
  float bits[256]; for(int t=0;t<128;t++){bits[t]=bits[128+t]= (t<32? 2+0.35*t : 14+0.5*(t-32)) + (t>0);}
  int32_t *k=malloc(n*4), *si=malloc(2*per*16); uint8_t *sf=malloc(2*per); uint32_t h[256];
  for(int64_t c=0;c<chunks;c+=2) ctrellis_chunk_pair(v+c*per,rows,rc,k+c*per, v+(c+1)*per,rows,rc,k+(c+1)*per, columns,sh,0,bits,0.2f,(float)scale,si,sf,h,0);
  uint64_t cnt[2][256]; memset(cnt,0,sizeof cnt);
  const uint32_t NS=(0u|2u<<2|2u<<4|0u<<6|1u<<8|3u<<10|3u<<12|1u<<14);
  for(int64_t c=0;c<chunks;c++){ uint32_t st=0; for(int64_t i=0;i<per;i++){ int32_t q=k[c*per+i]; uint32_t m=q<0?-q:q; uint32_t t=tok(m); uint32_t sym=t==0?0:2*t-(q<0?0:1); cnt[st>>1][sym]++; st=(NS>>((2*st+(m&1))*2))&3;} }
  uint32_t entries[512]; uint64_t rec[512];
  for(int t=0;t<2;t++){ uint64_t tot=0; for(int s2=0;s2<256;s2++) tot+=cnt[t][s2]+1; uint32_t f[256], sum=0; int big=0;
    for(int s2=0;s2<256;s2++){ f[s2]=(uint32_t)((cnt[t][s2]+1)*3800/tot); if(f[s2]<1)f[s2]=1; sum+=f[s2]; if(f[s2]>f[big])big=s2;}
    f[big]+=4096-sum; uint32_t st=0; for(int s2=0;s2<256;s2++){ entries[t*256+s2]=f[s2]|st<<16; rec[t*256+s2]=ctrellis_reciprocal(f[s2]); st+=f[s2]; } }
  uint8_t **bs=malloc(chunks*sizeof *bs); int64_t *ln=malloc(chunks*8); uint16_t *w=malloc(3*per*2*2*2); uint8_t *ss=malloc(2*per);
  int64_t total=0;
  for(int64_t c=0;c<chunks;c+=2){ bs[c]=malloc(4+6*per); bs[c+1]=malloc(4+6*per); int64_t L[2];
    ctrellis_encode_chunk_pair(k+c*per,rows,rc,k+(c+1)*per,rows,rc,columns,sh,0,1,entries,rec,bs[c],bs[c+1],w,ss,L); ln[c]=L[0]; ln[c+1]=L[1]; total+=L[0]+L[1]; }
  uint32_t *slots=malloc(2*1280*4);
  for(int t=0;t<2;t++){ uint8_t *sy=(uint8_t*)(slots+t*1280); for(int s2=0;s2<256;s2++){ uint32_t e=entries[t*256+s2]; for(uint32_t z=0;z<(e&0xFFFF);z++) sy[(e>>16)+z]=s2; slots[t*1280+1024+s2]=e; } }
  float *oa=malloc(n*4), *ob=malloc(n*4); int32_t st2[2];
  double ba=1e9,bb=1e9;
  for(int rep=0;rep<40;rep++){
    double t0=now(); for(int64_t c=0;c<chunks;c+=2){ ctrellis_decode_chunk_pair(bs[c],ln[c],rows,rc,oa+c*per,bs[c+1],ln[c+1],rows,rc,oa+(c+1)*per,columns,sh,0,1,slots,(float)scale,st2); if(st2[0]||st2[1]) {printf("A fail\n");return 1;} }
    double t=now()-t0; if(t<ba)ba=t;
    t0=now(); for(int64_t c=0;c<chunks;c+=2){ ctrellis_decode_chunk_pair_B(bs[c],ln[c],rows,rc,ob+c*per,bs[c+1],ln[c+1],rows,rc,ob+(c+1)*per,columns,sh,0,1,slots,(float)scale,st2); if(st2[0]||st2[1]) {printf("B fail\n");return 1;} }
    t=now()-t0; if(t<bb)bb=t;
  }
  printf("%.2f bits/element; decode A %.3f ns/el, B %.3f ns/el, B/A %.3f, outputs %s\n", 8.0*total/n, ba/n*1e9, bb/n*1e9, bb/ba, memcmp(oa,ob,n*4)?"DIFFER":"identical");
  // The encoders: the same chunk pairs into separate buffers, then their bytes compared.
  uint8_t *ea=malloc(2*(4+6*per)), *eb=malloc(2*(4+6*per)); int same=1;
  ba=1e9; bb=1e9;
  for(int rep=0;rep<40;rep++){
    double t0=now(); for(int64_t c=0;c<chunks;c+=2){ int64_t L[2]; ctrellis_encode_chunk_pair(k+c*per,rows,rc,k+(c+1)*per,rows,rc,columns,sh,0,1,entries,rec,ea,ea+4+6*per,w,ss,L); }
    double t=now()-t0; if(t<ba)ba=t;
    t0=now(); for(int64_t c=0;c<chunks;c+=2){ int64_t L[2]; ctrellis_encode_chunk_pair_B(k+c*per,rows,rc,k+(c+1)*per,rows,rc,columns,sh,0,1,entries,rec,eb,eb+4+6*per,w,ss,L);
      if(rep==0){ same &= L[0]==ln[c] && L[1]==ln[c+1] && !memcmp(eb,bs[c],L[0]) && !memcmp(eb+4+6*per,bs[c+1],L[1]); } }
    t=now()-t0; if(t<bb)bb=t;
  }
  printf("%.2f bits/element; encode A %.3f ns/el, B %.3f ns/el, B/A %.3f, bytes %s\n", 8.0*total/n, ba/n*1e9, bb/n*1e9, bb/ba, same?"identical":"DIFFER");
}
