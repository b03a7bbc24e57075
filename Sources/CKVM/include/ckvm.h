#ifndef CKVM_H
#define CKVM_H
#endif
